// `pizzeria kitchen`: the cooks that bake what `pizzeria serve --kitchen`
// confirmed. Any number of kitchens, on any machines that reach the Redis
// server, share the orders (one consumer group); see
// include/pizzeria/pizza/kitchen.hpp for how an order is never lost.
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "commands.hpp"
#include "pizzeria/core/event_loop.hpp"
#include "pizzeria/coro/cancelled_error.hpp"
#include "pizzeria/coro/run.hpp"
#include "pizzeria/coro/stop_token.hpp"
#include "pizzeria/net/redis_connection.hpp"
#include "pizzeria/net/redis_credentials.hpp"
#include "pizzeria/net/socket_address.hpp"
#include "pizzeria/pizza/kitchen.hpp"
#include "pizzeria/pizza/load_generator.hpp"
#include "pizzeria/service/service_notify.hpp"

namespace pz::app {

namespace {

struct KitchenArguments {
  std::string redis = "6379";
  pizza::Kitchen::Options options;
  double bake_seconds = 0.1;
  double reclaim_seconds = 30.0;
  double forget_seconds = 300.0;
  bool dead_letters = false;
};

// Whole milliseconds, rounded (1.001 s is 1001 ms, not 1000); the options
// refuse finer precision (whole_milliseconds), so nothing is lost.
std::chrono::milliseconds to_milliseconds(double seconds) {
  return std::chrono::milliseconds(std::llround(seconds * 1000.0));
}

// CLI11 check: the kitchen counts in milliseconds; a finer duration would be
// silently changed.
std::string whole_milliseconds(const std::string& text) {
  double milliseconds = 0;
  try {
    milliseconds = std::stod(text) * 1000.0;
  } catch (const std::exception&) {
    return {};  // not a number: the type check says so
  }
  if (std::fabs(milliseconds - std::round(milliseconds)) > 1e-6) {
    return "takes whole milliseconds (at most 3 decimals of a second), got " + text;
  }
  return {};
}

// `pizzeria kitchen --dead-letters`: the orders given up on, oldest first.
int list_dead_letters(const KitchenArguments& arguments) {
  const SocketAddress redis = resolve_load_target(arguments.redis);
  const std::vector<pizza::DeadLetter> letters = run([&]() -> Task<std::vector<pizza::DeadLetter>> {
    const RedisCredentials credentials = RedisCredentials::from_environment();
    RedisConnection connection =
        co_await RedisConnection::open(redis.host(), redis.port(), credentials);
    co_return co_await pizza::Kitchen::dead_letters(connection, arguments.options.stream, 10000);
  }());
  std::printf("%zu dead letter%s in %s\n", letters.size(), letters.size() == 1 ? "" : "s",
              pizza::Kitchen::dead_letter_stream(arguments.options.stream).c_str());
  for (const pizza::DeadLetter& letter : letters) {
    std::printf("order %s (%s): %s\n", letter.order.c_str(), letter.fields.c_str(),
                letter.reason.c_str());
  }
  return 0;
}

int run_kitchen(KitchenArguments& arguments) {
  const SocketAddress redis = resolve_load_target(arguments.redis);
  pizza::Kitchen::Options options = arguments.options;
  options.host = redis.host();
  options.port = redis.port();
  options.credentials = RedisCredentials::from_environment();
  options.bake_time = to_milliseconds(arguments.bake_seconds);
  options.reclaim_after = to_milliseconds(arguments.reclaim_seconds);
  options.forget_cooks_after = to_milliseconds(arguments.forget_seconds);
  pizza::Kitchen kitchen(
      options,
      [](const pizza::BakedOrder& order) {
        if (order.duplicate) {
          std::printf(
              "Cook %d baked %d pizza%s again (order %s): a duplicate, first baked by %s\n",
              order.cook, order.pizzas, order.pizzas == 1 ? "" : "s", order.id.c_str(),
              order.first.empty() ? "a cook Redis no longer remembers" : order.first.c_str());
        } else {
          std::printf("Cook %d baked %d pizza%s (order %s)\n", order.cook, order.pizzas,
                      order.pizzas == 1 ? "" : "s", order.id.c_str());
        }
        std::fflush(stdout);
      },
      [](std::string_view why) {
        std::fprintf(stderr, "kitchen: %.*s\n", static_cast<int>(why.size()), why.data());
      });
  EventLoop loop;
  StopSource stop;
  // The first Ctrl-C closes the kitchen: no new orders, the ovens are
  // emptied. The second stops at once; what was in the ovens stays pending
  // and another cook reclaims it.
  int interrupts = 0;
  const auto close_or_stop = [&] {
    if (interrupts++ == 0) {
      service::notify_stopping();  // systemd: shutdown began
      std::printf("Closing the kitchen: finishing the orders in the ovens\n");
      std::fflush(stdout);
      kitchen.close();
    } else {
      stop.request_stop();
    }
  };
  loop.add_signal_handler(SIGINT, close_or_stop);
  loop.add_signal_handler(SIGTERM, close_or_stop);
  // "Open" only once Redis answered: a wrong address fails before it.
  try {
    run(
        [&]() -> Task<void> {
          co_await kitchen.open();
          std::printf("Kitchen open: %d cook%s taking orders from %s, stream %s, group %s\n",
                      options.cooks, options.cooks == 1 ? "" : "s", redis.to_string().c_str(),
                      options.stream.c_str(), options.group.c_str());
          std::fflush(stdout);
          service::notify_ready();  // systemd: Redis answered
          co_await kitchen.run();
        }(),
        {}, stop.token());
  } catch (const CancelledError&) {
    std::printf(
        "Kitchen stopped: %llu order%s baked; the orders in the ovens wait for another cook\n",
        static_cast<unsigned long long>(kitchen.baked()), kitchen.baked() == 1 ? "" : "s");
    return 0;
  }
  std::printf("Kitchen closed: %llu order%s baked\n",
              static_cast<unsigned long long>(kitchen.baked()), kitchen.baked() == 1 ? "" : "s");
  return 0;
}

}  // namespace

void register_kitchen_command(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<KitchenArguments>();
  pizza::Kitchen::Options& options = arguments->options;
  auto* command = app.add_subcommand(
      "kitchen",
      "Bake the orders that `pizzeria serve --kitchen` put on a Redis stream; run as many "
      "kitchens, on as many machines, as you like");
  command
      ->add_option("--redis", arguments->redis,
                   "The Redis server, [HOST:]PORT; a password for it comes from "
                   "PIZZERIA_REDIS_PASSWORD (and an ACL user from PIZZERIA_REDIS_USER)")
      ->capture_default_str()
      ->type_name("[HOST:]PORT");
  command->add_option("--cooks", options.cooks, "Orders baked at once (one connection each)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  // Bounded: the seconds become whole milliseconds (a number beyond long
  // long's range was undefined behaviour), and a pizza's bake time times
  // the largest order an entry may carry (2^31 - 1 pizzas) must still fit.
  command->add_option("--bake-time", arguments->bake_seconds, "Seconds per pizza (whole ms)")
      ->capture_default_str()
      ->check(seconds_between(0, 3600))
      ->check(whole_milliseconds);
  command
      ->add_option("--reclaim-after", arguments->reclaim_seconds,
                   "Seconds after which an order a cook left unfinished (it died) is baked by "
                   "another")
      ->capture_default_str()
      ->check(seconds_between(0.001, 1e6))
      ->check(whole_milliseconds);
  command
      ->add_option("--max-deliveries", options.max_deliveries,
                   "Deliveries after which an order never acknowledged (it kills its cooks) "
                   "moves to the dead-letter stream STREAM:dead")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  command
      ->add_option("--forget-cooks-after", arguments->forget_seconds,
                   "Seconds after which a cook of the group that holds nothing and was not heard "
                   "of (its kitchen was killed) is removed from the group")
      ->capture_default_str()
      ->check(seconds_between(0.001, 1e6))
      ->check(whole_milliseconds);
  command->add_flag("--dead-letters", arguments->dead_letters,
                    "List the orders in the dead-letter stream and exit");
  command
      ->add_option("--max-order", options.max_pizzas,
                   "The largest order baked; a larger one is reported and skipped (keep it at "
                   "least serve's --max-order)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000'000));
  command->add_option("--orders", options.max_orders, "Close after baking this many; 0 = never")
      ->capture_default_str();
  command->add_option("--stream", options.stream, "The Redis stream of orders")
      ->capture_default_str();
  command->add_option("--group", options.group, "The consumer group all kitchens share")
      ->capture_default_str();
  command->add_option("--name", options.name,
                      "This kitchen's name in the group (default: host name and pid)");
  read_options_from_environment(*command, "PIZZERIA_KITCHEN_");
  command->callback([arguments, &exit_code] {
    exit_code = arguments->dead_letters ? list_dead_letters(*arguments) : run_kitchen(*arguments);
  });
}

}  // namespace pz::app
