// The worker side of ProcessPool: a single-threaded loop that reads task
// frames from the inherited socket, runs registered functions and writes back
// results, until the parent closes the connection.
#include "pizzeria/exec/process_worker.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include "pizzeria/exec/process_queue.hpp"
#include "pizzeria/exec/task_registry.hpp"
#include "pizzeria/exec/wire.hpp"
#include "process_protocol.hpp"

namespace pz {

namespace {

// How many ProcessPoolOptions::inherited_fds this worker received; set once
// before any task runs.
std::size_t inherited_count = 0;

std::string describe_current_exception() {
  try {
    throw;
  } catch (const std::exception& error) {
    return error.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

// Runs one task item, appending (ok, value) or (failed, message) to `out`.
void run_item(const std::string& name, const ErasedTask* task, WireReader& args, WireWriter& out) {
  if (task == nullptr) {
    out.put_u8(0);
    wire_encode<std::string>(out, "no task is registered under the name '" + name +
                                      "' in the worker (register it at static initialisation, "
                                      "so re-executed workers see it)");
    return;
  }
  // The value is encoded in place, after its flag: through a writer of its
  // own it was copied once more, which for large results (the sort server's
  // 60 KB lists) was a copy per item. A task that throws after writing part
  // of its value has that part dropped.
  const std::size_t mark = out.size();
  out.put_u8(1);
  try {
    (*task)(args, out);
  } catch (...) {
    out.truncate(mark);
    out.put_u8(0);
    wire_encode<std::string>(out, "task '" + name + "' failed: " + describe_current_exception());
  }
}

// The outcome that replaces a result too large to send.
void put_too_large(WireWriter& out, std::size_t bytes) {
  out.put_u8(0);
  wire_encode<std::string>(
      out, "its encoded result of " + std::to_string(bytes) +
               " bytes does not fit, with the rest of its batch, in one process pool message "
               "(the limit is 1 GiB): return less per item, or send fewer items per batch");
}

// A results message over the frame limit would kill the worker when sent,
// and the parent would report the whole batch as a dead worker. Instead, the
// items that do not fit fail with the reason and the rest keep their
// results: in order, an item keeps its result when that still leaves room
// for the items after it at their smallest (their result or the failure,
// whichever is shorter). `ends[i]` is where item i's outcome ends in `full`.
WireWriter fit_results(const WireWriter& full, const std::vector<std::size_t>& ends) {
  constexpr std::size_t kHeader = 1 + 8 + 4;  // kind, id, count
  WireWriter probe;
  put_too_large(probe, std::size_t{1} << 40);  // the longest such outcome
  const std::size_t failure_size = probe.size();
  const auto item_size = [&](std::size_t i) { return ends[i] - (i == 0 ? kHeader : ends[i - 1]); };
  std::size_t smallest_rest = 0;
  for (std::size_t i = 0; i < ends.size(); ++i) {
    smallest_rest += std::min(item_size(i), failure_size);
  }
  WireWriter fitted;
  fitted.put_bytes(std::string_view(full.data()).substr(0, kHeader));
  for (std::size_t i = 0; i < ends.size(); ++i) {
    const std::size_t size = item_size(i);
    smallest_rest -= std::min(size, failure_size);
    if (fitted.size() + size + smallest_rest <= process_protocol::kMaxFrame) {
      fitted.put_bytes(std::string_view(full.data()).substr(ends[i] - size, size));
    } else {
      put_too_large(fitted, size);
    }
  }
  return fitted;
}

int serve(int fd) {
  // Proves to the pool that this program reached the worker loop (and did
  // not, say, run its normal main because it lacks the hook).
  WireWriter hello;
  hello.put_u8(process_protocol::kHello);
  process_protocol::write_frame(fd, hello.data());
  // Kept from one message to the next, so a worker that handles large
  // batches grows its buffers once instead of faulting fresh pages in for
  // every message.
  std::string frame;
  WireWriter out;
  std::vector<std::size_t> item_ends;  // where each item's outcome ends in `out`
  for (;;) {
    if (!process_protocol::read_frame(fd, frame)) {
      return 0;  // the pool closed the connection: a normal shutdown
    }
    WireReader reader(frame);
    const std::uint8_t kind = reader.get_u8();
    if (kind == process_protocol::kInit) {
      const std::string name = wire_decode<std::string>(reader);
      const ErasedTask* task = task_registry::find(name);
      WireWriter init_outcome;
      run_item(name, task, reader, init_outcome);
      WireReader outcome(init_outcome.data());
      if (outcome.get_u8() == 0) {
        WireWriter failed;
        failed.put_u8(process_protocol::kInitFailed);
        failed.put_bytes(outcome.rest());  // the encoded error message
        process_protocol::write_frame(fd, failed.data());
        return 1;
      }
      continue;
    }
    if (kind != process_protocol::kTask) {
      throw WireError("worker received an unknown message kind " + std::to_string(kind));
    }
    const std::uint64_t id = reader.get_u64();
    const std::string name = wire_decode<std::string>(reader);
    const std::uint32_t count = reader.get_u32();
    const ErasedTask* task = task_registry::find(name);
    // Tell the parent the task is now ours: if we die from here on, the task
    // is what killed us; before this, the parent may give it to another worker.
    WireWriter started;
    started.put_u8(process_protocol::kStarted);
    started.put_u64(id);
    process_protocol::write_frame(fd, started.data());
    out.clear();
    out.put_u8(process_protocol::kResults);
    out.put_u64(id);
    out.put_u32(count);
    item_ends.clear();
    for (std::uint32_t i = 0; i < count; ++i) {
      // Each item's arguments are length-prefixed so a decoding failure in
      // one item cannot misalign the next.
      const std::uint32_t size = reader.get_u32();
      WireReader item(reader.get_bytes(size));
      run_item(name, task, item, out);
      item_ends.push_back(out.size());
    }
    if (out.size() > process_protocol::kMaxFrame) {
      out = fit_results(out, item_ends);
    }
    process_protocol::write_frame(fd, out.data());
    // A rare huge message should not pin its memory in the worker for ever.
    constexpr std::size_t kKeptBytes = std::size_t{16} << 20;
    if (frame.capacity() > kKeptBytes) {
      frame = std::string();
    }
    if (out.data().capacity() > kKeptBytes) {
      out = WireWriter();
    }
  }
}

}  // namespace

int inherited_fd(std::size_t index) {
  if (index >= inherited_count) {
    throw std::out_of_range("pz::inherited_fd(" + std::to_string(index) + "): this process got " +
                            std::to_string(inherited_count) +
                            " inherited descriptors (is it a ProcessPool worker?)");
  }
  return kFirstInheritedFd + static_cast<int>(index);
}

std::optional<int> run_process_worker_if_requested() {
  const char* fd_text = std::getenv(kProcessWorkerFdVariable);
  if (fd_text == nullptr) {
    return std::nullopt;
  }
  const int fd = std::atoi(fd_text);
  const char* parent_text = std::getenv(kProcessWorkerParentVariable);
  const pid_t parent = parent_text != nullptr ? static_cast<pid_t>(std::atol(parent_text)) : 0;
  // Children the task code might start must not mistake themselves for
  // workers.
  if (const char* inherited = std::getenv(kProcessWorkerInheritedVariable)) {
    inherited_count = static_cast<std::size_t>(std::atol(inherited));
    for (std::size_t i = 0; i < inherited_count; ++i) {
      ::fcntl(kFirstInheritedFd + static_cast<int>(i), F_SETFD, FD_CLOEXEC);
    }
  }
  ::unsetenv(kProcessWorkerFdVariable);
  ::unsetenv(kProcessWorkerParentVariable);
  ::unsetenv(kProcessWorkerInheritedVariable);
  // Die with the parent even if it is killed before it can close our socket;
  // then check it did not die before the request was in place. (The signal
  // follows the death of the parent *thread* that spawned us, the pool's
  // manager, which outlives its workers by design.)
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (parent != 0 && ::getppid() != parent) {
    return 1;
  }
  // Not inherited by processes the task code starts.
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  try {
    const int status = serve(fd);
    ::close(fd);
    return status;
  } catch (const std::exception&) {
    // Broken connection or corrupt frame: nothing to answer to.
    ::close(fd);
    return 2;
  }
}

}  // namespace pz
