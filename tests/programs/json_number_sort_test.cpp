#include "pizzeria/programs/json_number_sort.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace pz::programs {
namespace {

TEST(SortJsonNumbers, SortsPythonJsonDumpsOutputKeepingItsLength) {
  EXPECT_EQ(sort_json_numbers("[5, 3, 9]"), "[3, 5, 9]");
  EXPECT_EQ(sort_json_numbers("[100, 20, 3]"), "[3, 20, 100]");
  EXPECT_EQ(sort_json_numbers("[]"), "[]");
  EXPECT_EQ(sort_json_numbers("[7]"), "[7]");
  EXPECT_EQ(sort_json_numbers("[ ]"), "[ ]");
  EXPECT_EQ(sort_json_numbers("[ 3 ,\n1 ]"), "[ 1 ,\n3 ]");
}

TEST(SortJsonNumbers, KeepsEachNumbersTextAndTheSeparatorsInPlace) {
  EXPECT_EQ(sort_json_numbers("[ 10,-2.5 ,3e2,  7 ]"), "[ -2.5,7 ,10,  3e2 ]");
  EXPECT_EQ(sort_json_numbers("[1.0, 1, -0, 0]"), "[-0, 0, 1.0, 1]");
}

TEST(SortJsonNumbers, ComparesLongIntegersExactly) {
  EXPECT_EQ(sort_json_numbers("[9007199254740993, 9007199254740992, -12345678901234567890]"),
            "[-12345678901234567890, 9007199254740992, 9007199254740993]");
}

TEST(SortJsonNumbers, KeepsEqualIntegersInTheirOriginalOrder) {
  EXPECT_EQ(sort_json_numbers("[0, -0, 5, -0, 0]"), "[0, -0, -0, 0, 5]");
  std::string many = "[";
  std::string expected = "[";
  for (int i = 0; i < 100; ++i) {
    many += i == 0 ? "" : ", ";
    many += i % 2 == 0 ? "-0" : "0";
    expected += i == 0 ? "" : ", ";
    expected += i % 2 == 0 ? "-0" : "0";
  }
  EXPECT_EQ(sort_json_numbers(many + ", -1]"), "[-1, " + expected.substr(1) + "]");
}

TEST(SortJsonNumbers, SortsRandomIntegersOfEveryMagnitudeAsAStableSortWould) {
  std::mt19937_64 random(7);
  for (const std::size_t count :
       {std::size_t{3}, std::size_t{31}, std::size_t{33}, std::size_t{2000}}) {
    std::vector<std::pair<std::int64_t, std::string>> numbers;
    std::string json = "[";
    for (std::size_t i = 0; i < count; ++i) {
      // Magnitudes from one digit to 18, and a few repeats.
      const int digits = 1 + static_cast<int>(random() % 18);
      std::int64_t limit = 1;
      for (int d = 0; d < digits; ++d) {
        limit *= 10;
      }
      std::int64_t value = static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(limit));
      if (random() % 2 == 0) {
        value = -value;
      }
      if (i > 0 && random() % 8 == 0) {
        value = numbers[random() % numbers.size()].first;
      }
      numbers.emplace_back(value, std::to_string(value));
      json += (i == 0 ? "" : ", ") + numbers.back().second;
    }
    json += "]";
    std::stable_sort(numbers.begin(), numbers.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string expected = "[";
    for (std::size_t i = 0; i < count; ++i) {
      expected += (i == 0 ? "" : ", ") + numbers[i].second;
    }
    expected += "]";
    EXPECT_EQ(sort_json_numbers(json), expected) << count << " numbers";
  }
}

// The seed's shape (10,000 numbers below 10,000) takes a counting sort;
// wider spans take the radix sort. Both must be stable (-0 and 0 share a key
// but not a text) and keep every separator, however it is written, in place.
TEST(SortJsonNumbers, SortsNarrowAndWideSpansStablyWithAnySeparators) {
  std::mt19937_64 random(13);
  const std::vector<std::string> separators{", ", ",", " , ", ",\n  ", "\t,"};
  for (const std::int64_t span :
       {std::int64_t{3}, std::int64_t{10000}, std::int64_t{70000}, std::int64_t{1} << 40}) {
    for (const std::size_t count : {std::size_t{40}, std::size_t{10000}}) {
      std::vector<std::pair<std::int64_t, std::string>> numbers;
      std::vector<std::string> gaps{random() % 2 == 0 ? "" : " "};
      for (std::size_t i = 0; i < count; ++i) {
        const std::int64_t value =
            static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(span)) - span / 3;
        numbers.emplace_back(value, value == 0 && random() % 2 == 0 ? "-0" : std::to_string(value));
        gaps.push_back(i + 1 == count ? (random() % 2 == 0 ? "" : "\n")
                                      : separators[random() % separators.size()]);
      }
      std::string json = "[";
      for (std::size_t i = 0; i < count; ++i) {
        json += gaps[i] + numbers[i].second;
      }
      json += gaps.back() + "]";
      std::stable_sort(numbers.begin(), numbers.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      std::string expected = "[";
      for (std::size_t i = 0; i < count; ++i) {
        expected += gaps[i] + numbers[i].second;
      }
      expected += gaps.back() + "]";
      EXPECT_EQ(sort_json_numbers(json), expected) << count << " numbers spanning " << span;
    }
  }
}

// Numbers of every length from 1 to 20 digits, each also as the array's last
// number, where fewer than 8 bytes follow it.
TEST(SortJsonNumbers, ReadsNumbersOfEveryLengthAnywhereInTheArray) {
  std::string digits;
  for (int length = 1; length <= 20; ++length) {
    digits += static_cast<char>('0' + length % 9 + 1);
    EXPECT_EQ(sort_json_numbers("[" + digits + ", 0]"), "[0, " + digits + "]") << digits;
    EXPECT_EQ(sort_json_numbers("[0, -" + digits + "]"), "[-" + digits + ", 0]") << digits;
    EXPECT_EQ(sort_json_numbers("[" + digits + "]"), "[" + digits + "]") << digits;
  }
}

TEST(SortJsonNumbers, MixesNineteenDigitIntegersWithShortOnesExactly) {
  EXPECT_EQ(sort_json_numbers("[1000000000000000000, -999999999999999999, 999999999999999999, 3]"),
            "[-999999999999999999, 3, 999999999999999999, 1000000000000000000]");
}

// An integer compares exactly with a float, as in Python: 2^53 + 1 is above
// 2^53.0 though its nearest double is 2^53.0. Comparing through that double
// made the order intransitive, and the array came back unsorted.
TEST(SortJsonNumbers, ComparesIntegersWithFloatsExactly) {
  EXPECT_EQ(sort_json_numbers("[9007199254740993, 9007199254740992.0, 9007199254740992]"),
            "[9007199254740992.0, 9007199254740992, 9007199254740993]");
  EXPECT_EQ(sort_json_numbers("[-9007199254740993, -9007199254740992.5, 1e999, -1e999, "
                              "12345678901234567890123, 1.2345678901234567e22, "
                              "12345678901234567000000]"),
            "[-1e999, -9007199254740993, -9007199254740992.5, 12345678901234567000000, "
            "1.2345678901234567e22, 12345678901234567890123, 1e999]");
}

// Integers and floats around 2^53 and 2^63, where doubles skip integers,
// checked against long double (64-bit mantissa: exact for all of them).
TEST(SortJsonNumbers, SortsMixedIntegersAndFloatsWhereDoublesAreCoarse) {
  std::mt19937_64 random(11);
  const std::vector<std::string> bases{"9007199254740", "9223372036854775"};
  for (int round = 0; round < 50; ++round) {
    std::vector<std::string> texts;
    std::string json = "[";
    for (int i = 0; i < 40; ++i) {
      const std::string& base = bases[random() % bases.size()];
      std::string text = (random() % 4 == 0 ? "-" : "") + base + std::to_string(random() % 10) +
                         std::to_string(random() % 10) + std::to_string(random() % 10);
      switch (random() % 3) {
        case 0:
          break;  // an integer
        case 1:
          text += ".0";
          break;
        default:
          text += ".5";
          break;
      }
      texts.push_back(text);
      json += (i == 0 ? "" : ", ") + text;
    }
    json += "]";
    const auto value = [](const std::string& text) {
      return text.find('.') == std::string::npos
                 ? std::strtold(text.c_str(), nullptr)
                 : static_cast<long double>(std::strtod(text.c_str(), nullptr));
    };
    const std::string sorted = sort_json_numbers(json);
    std::vector<std::string> out;
    for (std::size_t at = 1; at < sorted.size();) {
      const std::size_t end = std::min(sorted.find(", ", at), sorted.size() - 1);
      out.push_back(sorted.substr(at, end - at));
      at = end + 2;
    }
    ASSERT_EQ(out.size(), texts.size()) << sorted;
    for (std::size_t i = 1; i < out.size(); ++i) {
      EXPECT_LE(value(out[i - 1]), value(out[i])) << out[i - 1] << " before " << out[i];
    }
    std::sort(texts.begin(), texts.end());
    std::sort(out.begin(), out.end());
    EXPECT_EQ(out, texts);
  }
}

TEST(SortJsonNumbers, RejectsWhatIsNotAnArrayOfJsonNumbers) {
  for (const char* bad : {"",
                          "5",
                          "[5, 3",
                          "[5,, 3]",
                          "[5, \"3\"]",
                          "[01]",
                          "[1.]",
                          "[1e]",
                          "[+1]",
                          "[1] ",
                          "[NaN]",
                          "[1, 2,]",
                          "[,]",
                          "[1]]",
                          "[-]",
                          "[1 2]",
                          "[-01]",
                          "[]]",
                          "[00]",
                          "[5, 0123456789]",
                          "[0123456789012, 1]",
                          "[1, -]",
                          "[1,2 ,, 3]",
                          "[1, 2.]",
                          "[12345678e]"}) {
    EXPECT_THROW((void)sort_json_numbers(bad), std::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace pz::programs
