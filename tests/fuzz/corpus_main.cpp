// The fuzz targets' main where libFuzzer is not available (g++ builds):
// runs LLVMFuzzerTestOneInput once on every file named on the command line,
// or found in a directory named there, so each checked-in corpus is a
// regression test in every build. A target's checks abort on failure, which
// fails the test; this main fails it too when there is nothing to run.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool run_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::fprintf(stderr, "cannot open %s\n", path.c_str());
    return false;
  }
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // A copy of exactly the input's size, so reading past the end is caught
  // by ASan in a sanitized g++ build, as libFuzzer's own copy is.
  const std::vector<std::uint8_t> input(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(input.data(), input.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t ran = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path argument(argv[i]);
    std::vector<std::filesystem::path> files;
    std::error_code error;
    if (std::filesystem::is_directory(argument, error)) {
      for (const auto& entry : std::filesystem::directory_iterator(argument)) {
        if (entry.is_regular_file()) {
          files.push_back(entry.path());
        }
      }
      std::sort(files.begin(), files.end());  // the same order every run
    } else {
      files.push_back(argument);
    }
    for (const auto& file : files) {
      if (!run_file(file)) {
        return 1;
      }
      ++ran;
    }
  }
  if (ran == 0) {
    std::fprintf(stderr, "%s: no input to run (give corpus files or directories)\n", argv[0]);
    return 1;
  }
  std::printf("%zu inputs ran without a failure\n", ran);
  return 0;
}
