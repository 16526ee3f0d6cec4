#include "pizzeria/programs/sort_frame_reader.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace pz::programs {
namespace {

TEST(SortFrameReader, ReadsAFrameFedByteByByteAndLeavesWhatFollows) {
  const std::string frame = SortFrameReader::header_for(9) + "[5, 3, 9]" + "extra";
  SortFrameReader reader(1024);
  std::size_t used = 0;
  while (!reader.complete()) {
    used += reader.feed(std::string_view(frame).substr(used, 1));
  }
  EXPECT_EQ(used, 17u);
  EXPECT_EQ(reader.take_body(), "[5, 3, 9]");
}

TEST(SortFrameReader, TheHeaderIsEightBytesBigEndian) {
  EXPECT_EQ(SortFrameReader::header_for(0x0102030405060708ULL), "\x01\x02\x03\x04\x05\x06\x07\x08");
}

TEST(SortFrameReader, AFrameOverTheLimitIsRefusedWhenItsHeaderIsWhole) {
  SortFrameReader reader(8);
  const std::string header = SortFrameReader::header_for(9);
  EXPECT_EQ(reader.feed(header.substr(0, 7)), 7u);
  try {
    (void)reader.feed(header.substr(7) + "[1]");
    FAIL() << "no exception";
  } catch (const SortFrameReader::FrameTooLargeError& error) {
    EXPECT_STREQ(error.what(), "frame of 9 bytes exceeds --max-frame 8");
  }
}

TEST(SortFrameReader, ADeclaredLengthCostsNothingUntilItsBytesArrive) {
  SortFrameReader reader(std::uint64_t{1} << 40);
  (void)reader.feed(SortFrameReader::header_for(std::uint64_t{1} << 34));  // 16 GiB declared
  EXPECT_EQ(reader.capacity(), 0u);
  (void)reader.feed("[1");
  EXPECT_EQ(reader.capacity(), SortFrameReader::kFirstChunk);
}

TEST(SortFrameReader, BytesReceivedIntoRoomAreCommittedWithoutACopy) {
  SortFrameReader reader(100);
  (void)reader.feed(SortFrameReader::header_for(3));
  const auto room = reader.room();
  ASSERT_EQ(room.size(), 3u);  // never past the declared length
  std::memcpy(room.data(), "[7]", 3);
  reader.commit(3);
  ASSERT_TRUE(reader.complete());
  EXPECT_TRUE(reader.room().empty());
  EXPECT_EQ(reader.take_body(), "[7]");
  EXPECT_FALSE(reader.has_header());  // ready for nothing more: one frame per reader use
}

}  // namespace
}  // namespace pz::programs
