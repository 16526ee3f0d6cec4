// The wire format ProcessPool uses for task arguments and results: a small,
// self-describing binary encoding (documented in docs/exec.md, "Wire format").
//
// Every value is a one-byte tag followed by its payload; integers are fixed
// width little-endian, so the format does not depend on the host:
//
//   'i' int64 (8 bytes)     any signed integer type
//   'u' uint64 (8 bytes)    any unsigned integer type
//   'f' IEEE-754 binary64   float, double
//   'b' 1 byte (0 or 1)     bool
//   's' u32 length, bytes   std::string
//   'l' u32 count, values   std::vector<T>
//   'm' u32 count, (key, value) pairs          std::map, std::unordered_map
//   't' u32 count, values   std::pair, std::tuple (also a task's argument list)
//   'n' nothing             std::nullopt, a void result
//   std::optional<T> is 'n' or the value itself.
//
// Decoding checks tags, lengths and integer ranges and throws pz::WireError
// naming what was expected and what was found, so a mismatch between the
// parent's and the worker's idea of a task's signature is a clear error, not
// garbage.
//
// Extending: specialise pz::Codec<YourType> with
//   static void encode(WireWriter&, const YourType&);
//   static YourType decode(WireReader&);
// usually by encoding a std::tuple of the fields.
//
// Thread safety: writers and readers are values; use one per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace pz {

class WireError : public std::runtime_error {
 public:
  explicit WireError(const std::string& what) : std::runtime_error("wire format: " + what) {}
};

namespace wire_tag {
inline constexpr std::uint8_t kInt = 'i';
inline constexpr std::uint8_t kUint = 'u';
inline constexpr std::uint8_t kFloat = 'f';
inline constexpr std::uint8_t kBool = 'b';
inline constexpr std::uint8_t kString = 's';
inline constexpr std::uint8_t kList = 'l';
inline constexpr std::uint8_t kMap = 'm';
inline constexpr std::uint8_t kTuple = 't';
inline constexpr std::uint8_t kNone = 'n';
}  // namespace wire_tag

class WireWriter {
 public:
  void put_u8(std::uint8_t value) { buffer_.push_back(static_cast<char>(value)); }
  void put_u32(std::uint32_t value) { put_le(value, 4); }
  void put_u64(std::uint64_t value) { put_le(value, 8); }
  void put_bytes(std::string_view bytes) { buffer_.append(bytes); }
  // A u32 length/count; refuses sizes the format cannot carry.
  void put_size(std::size_t size) {
    check_size(size);
    put_u32(static_cast<std::uint32_t>(size));
  }
  // Writes a u32 length over the 4 bytes at `position` (written earlier as a
  // placeholder), for a length known only once what it measures is written:
  // the value is then encoded in place instead of through a writer of its
  // own and a copy.
  void put_size_at(std::size_t position, std::size_t size) {
    check_size(size);
    if (position + 4 > buffer_.size()) {
      throw WireError("a length placeholder lies past the end of the message");
    }
    for (int i = 0; i < 4; ++i) {
      buffer_[position + static_cast<std::size_t>(i)] = static_cast<char>((size >> (8 * i)) & 0xFF);
    }
  }

  [[nodiscard]] const std::string& data() const noexcept { return buffer_; }
  [[nodiscard]] std::size_t size() const noexcept { return buffer_.size(); }
  std::string take() noexcept { return std::move(buffer_); }
  // Keeps the capacity: a writer reused for every message grows once.
  void clear() noexcept { buffer_.clear(); }
  // Drops what was written after `size()` was `mark` (a value half written
  // when its encoder threw).
  void truncate(std::size_t mark) {
    if (mark < buffer_.size()) {
      buffer_.resize(mark);
    }
  }

 private:
  static void check_size(std::size_t size) {
    if (size > std::numeric_limits<std::uint32_t>::max()) {
      throw WireError("a string or container of " + std::to_string(size) +
                      " elements exceeds the 2^32-1 limit of the format");
    }
  }
  void put_le(std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) {
      buffer_.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
    }
  }
  std::string buffer_;
};

class WireReader {
 public:
  explicit WireReader(std::string_view data) noexcept : data_(data) {}

  std::uint8_t get_u8() { return static_cast<std::uint8_t>(get_le(1)); }
  std::uint32_t get_u32() { return static_cast<std::uint32_t>(get_le(4)); }
  std::uint64_t get_u64() { return get_le(8); }
  std::string_view get_bytes(std::size_t size) {
    need(size);
    std::string_view bytes = data_.substr(position_, size);
    position_ += size;
    return bytes;
  }

  // Consumes a tag and checks it is `expected`.
  void expect_tag(std::uint8_t expected, const char* what) {
    const std::uint8_t tag = get_u8();
    if (tag != expected) {
      throw WireError(std::string("expected ") + what + " (tag '" + static_cast<char>(expected) +
                      "') but found tag " + describe_tag(tag) + " at offset " +
                      std::to_string(position_ - 1));
    }
  }
  [[nodiscard]] std::uint8_t peek_tag() const {
    if (position_ >= data_.size()) {
      throw WireError("truncated message: expected a value at offset " + std::to_string(position_));
    }
    return static_cast<std::uint8_t>(data_[position_]);
  }

  [[nodiscard]] bool at_end() const noexcept { return position_ == data_.size(); }
  [[nodiscard]] std::size_t position() const noexcept { return position_; }
  [[nodiscard]] std::string_view rest() const noexcept { return data_.substr(position_); }

  static std::string describe_tag(std::uint8_t tag) {
    if (tag >= 0x20 && tag < 0x7F) {
      return std::string("'") + static_cast<char>(tag) + "'";
    }
    return "0x" + std::to_string(static_cast<int>(tag));
  }

 private:
  void need(std::size_t size) const {
    if (data_.size() - position_ < size) {
      throw WireError("truncated message: needed " + std::to_string(size) + " bytes at offset " +
                      std::to_string(position_) + " of " + std::to_string(data_.size()));
    }
  }
  std::uint64_t get_le(int bytes) {
    need(static_cast<std::size_t>(bytes));
    std::uint64_t value = 0;
    for (int i = 0; i < bytes; ++i) {
      value |= static_cast<std::uint64_t>(static_cast<unsigned char>(data_[position_ + i]))
               << (8 * i);
    }
    position_ += static_cast<std::size_t>(bytes);
    return value;
  }

  std::string_view data_;
  std::size_t position_ = 0;
};

// Primary template: deliberately undefined so an unsupported type fails at
// compile time with the type's name in the message.
template <typename T, typename Enable = void>
struct Codec;

template <typename T>
void wire_encode(WireWriter& writer, const T& value) {
  Codec<T>::encode(writer, value);
}

template <typename T>
T wire_decode(WireReader& reader) {
  return Codec<T>::decode(reader);
}

template <>
struct Codec<bool> {
  static void encode(WireWriter& w, bool v) {
    w.put_u8(wire_tag::kBool);
    w.put_u8(v ? 1 : 0);
  }
  static bool decode(WireReader& r) {
    r.expect_tag(wire_tag::kBool, "a bool");
    return r.get_u8() != 0;
  }
};

template <typename T>
struct Codec<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  static void encode(WireWriter& w, T v) {
    if constexpr (std::is_signed_v<T>) {
      w.put_u8(wire_tag::kInt);
      w.put_u64(static_cast<std::uint64_t>(static_cast<std::int64_t>(v)));
    } else {
      w.put_u8(wire_tag::kUint);
      w.put_u64(static_cast<std::uint64_t>(v));
    }
  }
  // Either integer tag is accepted if the value fits, so a task declared with
  // `long` can be called with a `std::size_t` and the reverse.
  static T decode(WireReader& r) {
    const std::uint8_t tag = r.get_u8();
    if (tag == wire_tag::kInt) {
      const auto value = static_cast<std::int64_t>(r.get_u64());
      if (!std::in_range<T>(value)) {
        throw WireError("integer " + std::to_string(value) + " does not fit the target type");
      }
      return static_cast<T>(value);
    }
    if (tag == wire_tag::kUint) {
      const std::uint64_t value = r.get_u64();
      if (!std::in_range<T>(value)) {
        throw WireError("integer " + std::to_string(value) + " does not fit the target type");
      }
      return static_cast<T>(value);
    }
    throw WireError("expected an integer but found tag " + WireReader::describe_tag(tag));
  }
};

template <typename T>
struct Codec<T, std::enable_if_t<std::is_floating_point_v<T>>> {
  static void encode(WireWriter& w, T v) {
    const auto d = static_cast<double>(v);
    std::uint64_t bits = 0;
    std::memcpy(&bits, &d, sizeof bits);
    w.put_u8(wire_tag::kFloat);
    w.put_u64(bits);
  }
  static T decode(WireReader& r) {
    r.expect_tag(wire_tag::kFloat, "a float");
    const std::uint64_t bits = r.get_u64();
    double d = 0;
    std::memcpy(&d, &bits, sizeof d);
    return static_cast<T>(d);
  }
};

template <>
struct Codec<std::string> {
  static void encode(WireWriter& w, const std::string& v) {
    w.put_u8(wire_tag::kString);
    w.put_size(v.size());
    w.put_bytes(v);
  }
  static std::string decode(WireReader& r) {
    r.expect_tag(wire_tag::kString, "a string");
    const std::uint32_t size = r.get_u32();
    return std::string(r.get_bytes(size));
  }
};

template <typename T, typename Allocator>
struct Codec<std::vector<T, Allocator>> {
  static void encode(WireWriter& w, const std::vector<T, Allocator>& v) {
    w.put_u8(wire_tag::kList);
    w.put_size(v.size());
    for (const auto& item : v) {
      wire_encode<T>(w, item);
    }
  }
  static std::vector<T, Allocator> decode(WireReader& r) {
    r.expect_tag(wire_tag::kList, "a list");
    const std::uint32_t count = r.get_u32();
    std::vector<T, Allocator> result;
    // No reserve(count): a corrupt count must fail on truncation, not by
    // allocating gigabytes first.
    for (std::uint32_t i = 0; i < count; ++i) {
      result.push_back(wire_decode<T>(r));
    }
    return result;
  }
};

namespace detail {
template <typename MapType>
struct MapCodec {
  using Key = typename MapType::key_type;
  using Value = typename MapType::mapped_type;
  static void encode(WireWriter& w, const MapType& v) {
    w.put_u8(wire_tag::kMap);
    w.put_size(v.size());
    for (const auto& [key, value] : v) {
      wire_encode<Key>(w, key);
      wire_encode<Value>(w, value);
    }
  }
  static MapType decode(WireReader& r) {
    r.expect_tag(wire_tag::kMap, "a map");
    const std::uint32_t count = r.get_u32();
    MapType result;
    for (std::uint32_t i = 0; i < count; ++i) {
      Key key = wire_decode<Key>(r);
      result.insert_or_assign(std::move(key), wire_decode<Value>(r));
    }
    return result;
  }
};
}  // namespace detail

template <typename K, typename V, typename C, typename A>
struct Codec<std::map<K, V, C, A>> : detail::MapCodec<std::map<K, V, C, A>> {};
template <typename K, typename V, typename H, typename E, typename A>
struct Codec<std::unordered_map<K, V, H, E, A>>
    : detail::MapCodec<std::unordered_map<K, V, H, E, A>> {};

// Writes what encoding a std::tuple<Ts...> of `values` writes, without
// building the tuple (which would copy each value: a task's 60 KB string
// argument, say).
namespace detail {
// A value of another type is converted as the tuple's constructor would
// (explicitly: a std::string_view for a std::string); one of the element
// type is encoded where it is.
template <typename T, typename V>
decltype(auto) as_tuple_element(const V& value) {
  if constexpr (std::is_same_v<T, V>) {
    return (value);
  } else {
    return T(value);
  }
}
}  // namespace detail

template <typename... Ts, typename... Values>
void wire_encode_as_tuple(WireWriter& w, const Values&... values) {
  static_assert(sizeof...(Ts) == sizeof...(Values));
  w.put_u8(wire_tag::kTuple);
  w.put_u32(sizeof...(Ts));
  (wire_encode<Ts>(w, detail::as_tuple_element<Ts>(values)), ...);
}

template <typename... Ts>
struct Codec<std::tuple<Ts...>> {
  static void encode(WireWriter& w, const std::tuple<Ts...>& v) {
    std::apply([&](const Ts&... items) { wire_encode_as_tuple<Ts...>(w, items...); }, v);
  }
  static std::tuple<Ts...> decode(WireReader& r) {
    r.expect_tag(wire_tag::kTuple, "a tuple");
    const std::uint32_t count = r.get_u32();
    if (count != sizeof...(Ts)) {
      throw WireError("expected a tuple of " + std::to_string(sizeof...(Ts)) +
                      " values but found " + std::to_string(count));
    }
    // Braced initialisation evaluates left to right, matching the encoding.
    return std::tuple<Ts...>{wire_decode<Ts>(r)...};
  }
};

template <typename A, typename B>
struct Codec<std::pair<A, B>> {
  static void encode(WireWriter& w, const std::pair<A, B>& v) {
    Codec<std::tuple<A, B>>::encode(w, std::tuple<A, B>(v.first, v.second));
  }
  static std::pair<A, B> decode(WireReader& r) {
    auto [a, b] = Codec<std::tuple<A, B>>::decode(r);
    return {std::move(a), std::move(b)};
  }
};

template <typename T>
struct Codec<std::optional<T>> {
  static void encode(WireWriter& w, const std::optional<T>& v) {
    if (v) {
      wire_encode<T>(w, *v);
    } else {
      w.put_u8(wire_tag::kNone);
    }
  }
  static std::optional<T> decode(WireReader& r) {
    if (r.peek_tag() == wire_tag::kNone) {
      r.get_u8();
      return std::nullopt;
    }
    return wire_decode<T>(r);
  }
};

}  // namespace pz
