// README.md, "The same machinery as coroutines": compiled in every build.
// The lines between the README markers must stay the README's lines (the
// test examples.readme_snippets_match compares them, ignoring indentation).
//
// The tests build it but do not run it: it orders from the pizza service on
// the fixed port 12345 (scripts/run-service.sh), which a test must not take.
// echo_streams.cpp runs the same calls against a server on port 0.
// clang-format off
// README begin
#include "pizzeria/coro/run.hpp"
#include "pizzeria/net/open_connection.hpp"

pz::Task<void> order(int pizzas) {
  pz::TcpStream stream = co_await pz::open_connection("127.0.0.1", 12345);
  stream.write(std::to_string(pizzas) + "\n");
  std::string reply = co_await stream.read_line();
  std::fputs(reply.c_str(), stdout);   // Thank you for ordering 3 pizzas!
}

int main() { pz::run(order(3)); }
// README end
// clang-format on
