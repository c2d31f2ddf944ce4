// Reading and writing classic pcap files (the format net_pcap speaks) for end-to-end tests.
#pragma once

#include <string>
#include <vector>

#include "frames.hpp"

namespace vswitch::test {

void write_pcap(const std::string& path, const std::vector<Bytes>& frames);
// Throws std::runtime_error on a missing or malformed file.
std::vector<Bytes> read_pcap(const std::string& path);

}  // namespace vswitch::test
