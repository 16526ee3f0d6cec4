#include "pizzeria/programs/sort_frame_reader.hpp"

#include <algorithm>
#include <cstring>

namespace pz::programs {

std::size_t SortFrameReader::feed(std::string_view bytes) {
  std::size_t used = 0;
  if (!has_header()) {
    used = std::min(bytes.size(), kHeaderSize - header_have_);
    std::memcpy(header_ + header_have_, bytes.data(), used);
    header_have_ += used;
    if (!has_header()) {
      return used;
    }
    for (const unsigned char byte : header_) {
      length_ = (length_ << 8) | byte;
    }
    if (length_ > max_frame_) {
      throw FrameTooLargeError("frame of " + std::to_string(length_) +
                               " bytes exceeds --max-frame " + std::to_string(max_frame_));
    }
  }
  const std::size_t body = std::min<std::uint64_t>(bytes.size() - used, length_ - done_);
  if (body > 0) {
    grow_body(done_ + body);
    std::memcpy(body_.data() + done_, bytes.data() + used, body);
    done_ += body;
  }
  return used + body;
}

std::span<char> SortFrameReader::room() {
  if (!has_header() || complete()) {
    return {};
  }
  grow_body(done_ + 1);
  return {body_.data() + done_, body_.size() - done_};
}

void SortFrameReader::commit(std::size_t count) {
  if (count > body_.size() - done_) {
    throw std::logic_error("SortFrameReader::commit: more bytes than room() gave");
  }
  done_ += count;
}

std::string SortFrameReader::take_body() {
  if (!complete()) {
    throw std::logic_error("SortFrameReader::take_body: the frame is not complete");
  }
  std::string body = std::move(body_);
  body.resize(done_);
  *this = SortFrameReader(max_frame_);
  return body;
}

std::string SortFrameReader::header_for(std::uint64_t size) {
  std::string header(kHeaderSize, '\0');
  for (std::size_t i = 0; i < kHeaderSize; ++i) {
    header[i] = static_cast<char>((size >> (56 - 8 * i)) & 0xFF);
  }
  return header;
}

// Room for at least `need` body bytes, never beyond the declared length,
// growing geometrically from kFirstChunk: the buffer follows the bytes
// that have arrived, not the length the header claims.
void SortFrameReader::grow_body(std::size_t need) {
  const auto length = static_cast<std::size_t>(length_);
  if (body_.size() >= need || body_.size() == length) {
    return;
  }
  body_.resize(std::min(length, std::max({need, 2 * body_.size(), kFirstChunk})));
}

}  // namespace pz::programs
