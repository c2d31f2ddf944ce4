#include "pcap_file.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace vswitch::test {

namespace {
struct FileHeader {
  uint32_t magic;
  uint16_t major, minor;
  int32_t zone;
  uint32_t sigfigs, snaplen, linktype;
};
struct RecordHeader {
  uint32_t sec, usec, caplen, len;
};
}  // namespace

void write_pcap(const std::string& path, const std::vector<Bytes>& frames) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const FileHeader h{0xa1b2c3d4, 2, 4, 0, 0, 65535, 1};
  out.write(reinterpret_cast<const char*>(&h), sizeof h);
  uint32_t usec = 0;
  for (const Bytes& f : frames) {
    const auto len = static_cast<uint32_t>(f.size());
    const RecordHeader r{1, usec++, len, len};
    out.write(reinterpret_cast<const char*>(&r), sizeof r);
    out.write(reinterpret_cast<const char*>(f.data()), static_cast<std::streamsize>(f.size()));
  }
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::vector<Bytes> read_pcap(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  FileHeader h{};
  if (!in.read(reinterpret_cast<char*>(&h), sizeof h)) {
    throw std::runtime_error(path + ": no pcap header");
  }
  if (h.magic != 0xa1b2c3d4 && h.magic != 0xa1b23c4d) {
    throw std::runtime_error(path + ": not a little-endian pcap file");
  }
  std::vector<Bytes> frames;
  RecordHeader r{};
  while (in.read(reinterpret_cast<char*>(&r), sizeof r)) {
    Bytes f(r.caplen);
    if (!in.read(reinterpret_cast<char*>(f.data()), r.caplen)) {
      throw std::runtime_error(path + ": truncated record");
    }
    frames.push_back(std::move(f));
  }
  return frames;
}

}  // namespace vswitch::test
