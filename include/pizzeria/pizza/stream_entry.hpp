// pz::pizza::StreamEntry: an order as a Redis stream holds it, read from the
// replies the kitchen gets (XREADGROUP, XRANGE: [id, [field, value, ...]];
// XADD: the new entry's id). Whoever can write to Redis, or answers in its
// place, writes these bytes, so reading them is checked rather than
// trusted (fuzzed in tests/fuzz/kitchen_reply_fuzz.cpp).
//
//   std::optional<StreamEntry> entry = StreamEntry::from_reply(reply);
//   if (!entry) ...                        // not an entry: misshapen reply
//   std::optional<int> pizzas = entry->pizzas();
//
// Thread safety: a value.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pizzeria/net/redis_reply.hpp"

namespace pz::pizza {

struct StreamEntry {
  std::string id;
  std::vector<RedisReply> fields;  // field, value, field, value, ...

  // The entry `reply` holds, moved out of it; nullopt when it is not
  // [bulk id, [values...]] (a deleted entry is nil).
  [[nodiscard]] static std::optional<StreamEntry> from_reply(RedisReply& reply);

  // Whether `reply` is what XADD answers: a bulk string "MS-SEQ" of digits.
  [[nodiscard]] static bool is_id(const RedisReply& reply);

  // The `pizzas` field's value when it is a whole number of at least one
  // (the first `pizzas` field decides; a field without a value is none).
  [[nodiscard]] std::optional<int> pizzas() const;

  // The fields for a log line, space-separated: the first 200 bytes,
  // escaped (pz::loggable_text), then "... (N bytes)" when there is more;
  // "no fields" when there are none. At most 800 bytes plus the note,
  // whatever the entry holds.
  [[nodiscard]] std::string describe_fields() const;
};

}  // namespace pz::pizza
