// One client connection to a line server on 127.0.0.1: sends `request`, ends
// its side (half-close), and returns every byte of the replies up to the
// server's close. Throws if the connection cannot be made or sending fails.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pz::test {

std::string round_trip(std::uint16_t port, std::string_view request);

}  // namespace pz::test
