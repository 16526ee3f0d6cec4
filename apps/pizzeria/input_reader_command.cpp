// `pizzeria input-reader`: the seed's InputReader (seed 002, section 0.2). A
// second thread waits for a line of standard input while the main thread
// computes squares, until the reader is done.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include "commands.hpp"

namespace pz::app {

void register_input_reader_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "input-reader", "Compute squares while another thread waits for a line you type");
  command->callback([&exit_code] {
    std::printf("Enter some text and press enter: \n");
    std::fflush(stdout);
    std::string line_of_text;
    // Release/acquire: the reader's store of `line_of_text` happens before
    // the main thread reads it after seeing `alive` false.
    std::atomic<bool> alive{true};
    std::thread reader([&] {
      std::getline(std::cin, line_of_text);
      alive.store(false, std::memory_order_release);
    });
    // The largest number whose square fits in 64 bits: counting stops there
    // (a few seconds in) rather than wrap around and print a wrong square.
    constexpr std::uint64_t largest = 0xFFFF'FFFF;
    std::uint64_t count = 0;
    std::uint64_t square = 0;
    // At least one square, however fast the line comes; at the largest the
    // reader's join below waits for the line.
    do {
      ++count;
      square = count * count;
    } while (alive.load(std::memory_order_acquire) && count < largest);
    reader.join();
    std::printf("calculated squares up to %llu * %llu = %llu\n",
                static_cast<unsigned long long>(count), static_cast<unsigned long long>(count),
                static_cast<unsigned long long>(square));
    std::printf("while you typed %s\n", line_of_text.c_str());
    exit_code = 0;
  });
}

}  // namespace pz::app
