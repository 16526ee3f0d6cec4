#include "pizzeria/exec/wire.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace {

template <typename T>
T round_trip(const T& value) {
  pz::WireWriter writer;
  pz::wire_encode(writer, value);
  pz::WireReader reader(writer.data());
  T decoded = pz::wire_decode<T>(reader);
  EXPECT_TRUE(reader.at_end());
  return decoded;
}

TEST(Wire, RoundTripsScalarsStringsAndContainers) {
  EXPECT_EQ(round_trip(std::numeric_limits<std::int64_t>::min()),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(round_trip(std::numeric_limits<std::uint64_t>::max()),
            std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(round_trip(-7), -7);
  EXPECT_DOUBLE_EQ(round_trip(3.25), 3.25);
  EXPECT_EQ(round_trip(true), true);
  EXPECT_EQ(round_trip(std::string("pizza\0margherita", 16)), std::string("pizza\0margherita", 16));
  const std::map<std::string, std::vector<double>> menu{{"a", {1.5, 2.5}}, {"b", {}}};
  EXPECT_EQ(round_trip(menu), menu);
  const std::unordered_map<int, std::string> names{{1, "one"}, {2, "two"}};
  EXPECT_EQ(round_trip(names), names);
  const std::tuple<int, std::string, std::vector<long>> mixed{1, "x", {2, 3}};
  EXPECT_EQ(round_trip(mixed), mixed);
  EXPECT_EQ(round_trip(std::pair<int, bool>{4, false}), (std::pair<int, bool>{4, false}));
  EXPECT_EQ(round_trip(std::optional<int>{}), std::nullopt);
  EXPECT_EQ(round_trip(std::optional<int>{5}), 5);
}

TEST(Wire, EncodesIntegersAsTaggedLittleEndian) {
  pz::WireWriter writer;
  pz::wire_encode(writer, 258);
  EXPECT_EQ(writer.data(), std::string("i\x02\x01\0\0\0\0\0\0", 9));
}

TEST(Wire, AcceptsEitherIntegerTagWhenTheValueFits) {
  pz::WireWriter writer;
  pz::wire_encode(writer, std::size_t{42});
  pz::WireReader reader(writer.data());
  EXPECT_EQ(pz::wire_decode<long>(reader), 42);
}

TEST(Wire, RejectsOutOfRangeIntegersWrongTagsAndTruncationWithClearMessages) {
  pz::WireWriter writer;
  pz::wire_encode(writer, 300);
  pz::WireReader narrow(writer.data());
  EXPECT_THROW(pz::wire_decode<std::int8_t>(narrow), pz::WireError);

  pz::WireReader as_string(writer.data());
  try {
    pz::wire_decode<std::string>(as_string);
    FAIL() << "decoding an int as a string must fail";
  } catch (const pz::WireError& error) {
    EXPECT_NE(std::string(error.what()).find("expected a string"), std::string::npos);
  }

  pz::WireWriter text;
  pz::wire_encode(text, std::string("hello"));
  const std::string cut = text.data().substr(0, 6);
  pz::WireReader truncated(cut);
  try {
    pz::wire_decode<std::string>(truncated);
    FAIL() << "a truncated string must fail";
  } catch (const pz::WireError& error) {
    EXPECT_NE(std::string(error.what()).find("truncated"), std::string::npos);
  }

  pz::WireWriter pair;
  pz::wire_encode(pair, std::tuple<int, int>{1, 2});
  pz::WireReader wrong_arity(pair.data());
  EXPECT_THROW((pz::wire_decode<std::tuple<int, int, int>>(wrong_arity)), pz::WireError);
}

struct Topping {
  std::string name;
  int grams = 0;
  bool operator==(const Topping&) const = default;
};

}  // namespace

template <>
struct pz::Codec<Topping> {
  static void encode(WireWriter& writer, const Topping& topping) {
    wire_encode(writer, std::tuple<std::string, int>(topping.name, topping.grams));
  }
  static Topping decode(WireReader& reader) {
    auto [name, grams] = wire_decode<std::tuple<std::string, int>>(reader);
    return Topping{std::move(name), grams};
  }
};

namespace {

TEST(Wire, IsExtensibleThroughCodecSpecialisations) {
  const std::vector<Topping> toppings{{"basil", 5}, {"mozzarella", 120}};
  EXPECT_EQ(round_trip(toppings), toppings);
}

}  // namespace
