// libFuzzer target: whatever a sort-server client sends as its JSON frame,
// sort_json_numbers either refuses it with std::invalid_argument or returns
// the same bytes reordered into a sorted array of the same length, never a
// crash or an out-of-bounds read (ASan+UBSan run alongside; the fast path
// reads the frame 8 bytes at a time).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "pizzeria/programs/json_number_sort.hpp"

namespace {

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

void sort_and_check(std::string_view json) {
  std::string sorted;
  try {
    sorted = pz::programs::sort_json_numbers(json);
  } catch (const std::invalid_argument&) {
    return;  // refused: the server logs it and closes that connection
  }
  check(sorted.size() == json.size());
  check(sorted.front() == '[' && sorted.back() == ']');
  std::string input_bytes(json);
  std::string output_bytes = sorted;
  std::sort(input_bytes.begin(), input_bytes.end());
  std::sort(output_bytes.begin(), output_bytes.end());
  check(input_bytes == output_bytes);
  // Sorted output is a fixed point: a stable sort of a sorted array moves
  // nothing.
  check(pz::programs::sort_json_numbers(sorted) == sorted);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  sort_and_check(raw);
  // Most random inputs are not arrays; bracketing them reaches the number
  // scanners far more often.
  sort_and_check("[" + std::string(raw) + "]");
  return 0;
}
