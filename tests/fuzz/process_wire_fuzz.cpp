// libFuzzer target for what a ProcessPool's parent and workers decode from
// each other (include/pizzeria/exec/wire.hpp, src/exec/process_protocol.*):
// a worker that is not ours, or one whose memory went bad, must cost a
// WireError, never a crash, an out-of-bounds read or a huge allocation.
//
// Byte 0 picks the decoder, the rest is its input:
//   0  frames: the bytes go down a pipe and read_frame takes frames off it
//      until the end; what it returns must be exactly the frames sent.
//   1  a worker's results message, read as the parent reads it: kind, id,
//      count, then count outcomes through detail::read_result.
//   2  a task's arguments, decoded by a registered task as a worker does.
//   3+ values of several types; whatever decodes must encode to bytes that
//      decode to the same value.
// Only WireError may escape a decoder; anything else (length_error,
// bad_alloc) is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "exec/process_protocol.hpp"
#include "pizzeria/core/unique_fd.hpp"
#include "pizzeria/exec/process_pool.hpp"
#include "pizzeria/exec/task_registry.hpp"
#include "pizzeria/exec/wire.hpp"

namespace {

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "process_wire_fuzz: invariant failed: %s\n", what);
    std::abort();
  }
}

std::size_t fuzz_task(std::string name, std::vector<long> values, std::optional<double> scale) {
  return name.size() + values.size() + (scale ? 1 : 0);
}
const auto kFuzzTask = pz::register_task("fuzz.process_wire.task", &fuzz_task);

void frames(std::string_view bytes) {
  int ends[2];
  check(::pipe(ends) == 0, "a pipe");
  pz::UniqueFd reader(ends[0]);
  {
    pz::UniqueFd writer(ends[1]);
    // Inputs are far below a pipe's 64 KiB: the write never blocks.
    check(::write(writer.get(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()),
          "the whole input into the pipe");
  }
  std::string rebuilt;
  std::string payload;
  try {
    while (pz::process_protocol::read_frame(reader.get(), payload)) {
      pz::WireWriter header;
      header.put_u32(static_cast<std::uint32_t>(payload.size()));
      rebuilt += header.data();
      rebuilt += payload;
    }
    check(rebuilt == bytes, "the frames read are the bytes sent");
  } catch (const pz::WireError&) {
    check(bytes.substr(0, rebuilt.size()) == rebuilt, "the frames before a bad one are intact");
  }
}

template <typename R>
void outcomes(pz::WireReader& reader, std::uint32_t count) {
  for (std::uint32_t i = 0; i < count; ++i) {
    auto item = pz::detail::read_result<R>(reader);
    check(item.value.has_value() != static_cast<bool>(item.error), "a value or an error");
    if (item.corrupt) {
      return;  // the parent fails the rest of the batch
    }
  }
}

void results(std::string_view bytes) {
  pz::WireReader reader(bytes);
  try {
    const std::uint8_t kind = reader.get_u8();
    const std::uint64_t id = reader.get_u64();
    const std::uint32_t count = reader.get_u32() % 64;  // a real batch's count is the parent's
    switch ((kind + id) % 4) {
      case 0:
        outcomes<std::string>(reader, count);
        break;
      case 1:
        outcomes<void>(reader, count);
        break;
      case 2:
        outcomes<std::vector<std::pair<std::int64_t, bool>>>(reader, count);
        break;
      default:
        outcomes<std::optional<std::map<std::string, double>>>(reader, count);
        break;
    }
  } catch (const pz::WireError&) {
    // A header too short: the parent treats the worker as broken.
  }
}

void arguments(std::string_view bytes) {
  const pz::ErasedTask* task = pz::task_registry::find(kFuzzTask.name);
  check(task != nullptr, "the task is registered");
  pz::WireReader args(bytes);
  pz::WireWriter result;
  try {
    (*task)(args, result);
    pz::WireReader back(result.data());
    (void)pz::wire_decode<std::size_t>(back);
    check(back.at_end(), "one result value");
  } catch (const pz::WireError&) {
  }
}

template <typename T>
void round_trip(std::string_view bytes) {
  pz::WireReader reader(bytes);
  T value;
  try {
    value = pz::wire_decode<T>(reader);
  } catch (const pz::WireError&) {
    return;
  }
  check(reader.position() <= bytes.size(), "the reader stays inside its input");
  pz::WireWriter writer;
  pz::wire_encode<T>(writer, value);
  pz::WireReader again(writer.data());
  check(pz::wire_decode<T>(again) == value, "a decoded value survives encoding");
  check(again.at_end(), "the encoding is read whole");
}

using Mixed = std::tuple<std::int32_t, std::uint16_t, std::string, bool, double>;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 0:
      frames(bytes);
      break;
    case 1:
      results(bytes);
      break;
    case 2:
      arguments(bytes);
      break;
    case 3:
      round_trip<std::vector<std::string>>(bytes);
      break;
    case 4:
      round_trip<std::map<std::int64_t, std::vector<std::uint8_t>>>(bytes);
      break;
    case 5:
      round_trip<std::unordered_map<std::string, std::optional<std::int8_t>>>(bytes);
      break;
    case 6:
      round_trip<std::vector<std::pair<std::string, std::vector<bool>>>>(bytes);
      break;
    default:
      // NaN never equals itself: doubles are compared through the tuple only
      // when they are numbers, so a NaN input is skipped.
      {
        pz::WireReader reader(bytes);
        try {
          const Mixed value = pz::wire_decode<Mixed>(reader);
          if (std::get<4>(value) == std::get<4>(value)) {
            round_trip<Mixed>(bytes);
          }
        } catch (const pz::WireError&) {
        }
      }
      break;
  }
  return 0;
}
