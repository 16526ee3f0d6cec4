#include "pizzeria/pizza/stream_entry.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>
#include <utility>

#include "pizzeria/core/loggable_text.hpp"

namespace pz::pizza {

namespace {

// At most this much of an entry's fields goes into its log line: anyone
// with access to Redis can XADD megabytes, and one line should stay a line.
constexpr std::size_t kShownFieldBytes = 200;

}  // namespace

std::optional<StreamEntry> StreamEntry::from_reply(RedisReply& reply) {
  if (reply.kind != RedisReply::Kind::array || reply.elements.size() != 2 ||
      reply.elements[0].kind != RedisReply::Kind::bulk ||
      reply.elements[1].kind != RedisReply::Kind::array) {
    return std::nullopt;
  }
  return StreamEntry{std::move(reply.elements[0].text), std::move(reply.elements[1].elements)};
}

bool StreamEntry::is_id(const RedisReply& reply) {
  if (reply.kind != RedisReply::Kind::bulk) {
    return false;
  }
  const std::string_view id = reply.text;
  const std::size_t dash = id.find('-');
  const auto digits = [](std::string_view part) {
    return !part.empty() && part.find_first_not_of("0123456789") == std::string_view::npos;
  };
  return dash != std::string_view::npos && digits(id.substr(0, dash)) &&
         digits(id.substr(dash + 1));
}

std::optional<int> StreamEntry::pizzas() const {
  for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].text != "pizzas") {
      continue;
    }
    const std::string& text = fields[i + 1].text;
    int pizzas = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), pizzas);
    if (error == std::errc() && end == text.data() + text.size() && pizzas >= 1) {
      return pizzas;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

std::string StreamEntry::describe_fields() const {
  if (fields.empty()) {
    return "no fields";
  }
  std::string joined;  // the first kShownFieldBytes bytes of the fields, space-separated
  std::size_t total = 0;
  for (const RedisReply& field : fields) {
    const std::string_view separator = total == 0 ? "" : " ";
    total += separator.size() + field.text.size();
    joined += separator;
    joined.append(field.text, 0, kShownFieldBytes - std::min(joined.size(), kShownFieldBytes));
    joined.resize(std::min(joined.size(), kShownFieldBytes));
  }
  // Escapes make it at most four times longer: no cut there.
  std::string shown = loggable_text(joined, 4 * kShownFieldBytes);
  if (total > joined.size()) {
    shown += "... (" + std::to_string(total) + " bytes)";
  }
  return shown;
}

}  // namespace pz::pizza
