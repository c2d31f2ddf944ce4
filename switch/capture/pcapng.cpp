#include "capture/pcapng.hpp"

#include <algorithm>
#include <cstring>

namespace vswitch::capture {

namespace {

using namespace block;

// Block types and option codes, from the pcapng specification.
constexpr uint32_t kSectionHeader = 0x0A0D0D0A;
constexpr uint32_t kInterfaceDescription = 1;
constexpr uint32_t kInterfaceStatistics = 5;
constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr uint16_t kLinkTypeEthernet = 1;

constexpr uint16_t kOptEnd = 0;
constexpr uint16_t kShbUserAppl = 4;
constexpr uint16_t kIfName = 2;
constexpr uint16_t kIfDescription = 3;
constexpr uint16_t kIfTsResol = 9;
constexpr uint16_t kIsbIfRecv = 4;
constexpr uint16_t kIsbIfDrop = 5;

constexpr uint8_t kNanoseconds = 9;  // if_tsresol: 10^-9

std::span<const uint8_t> as_bytes(const auto& v) {
  return {reinterpret_cast<const uint8_t*>(&v), sizeof v};
}

}  // namespace

PcapngWriter::PcapngWriter(std::string_view application) {
  begin(kSectionHeader);
  u32(kByteOrderMagic);
  u16(1);  // version 1.0
  u16(0);
  u64(~uint64_t{0});  // section length: not given
  option(kShbUserAppl, application);
  end_of_options();
  end();
}

uint32_t PcapngWriter::add_interface(std::string_view name, std::string_view description,
                                     uint32_t snaplen) {
  begin(kInterfaceDescription);
  u16(kLinkTypeEthernet);
  u16(0);
  u32(snaplen);
  option(kIfName, name);
  if (!description.empty()) option(kIfDescription, description);
  option(kIfTsResol, as_bytes(kNanoseconds));
  end_of_options();
  end();
  snaplens_.push_back(snaplen);
  return static_cast<uint32_t>(snaplens_.size() - 1);
}

void PcapngWriter::packet(uint32_t interface, uint64_t time_ns, std::span<const uint8_t> frame,
                          Direction direction, std::string_view comment, uint32_t wire_length) {
  const auto kept = frame.first(std::min<size_t>(frame.size(), snaplens_.at(interface)));
  const size_t at = out_.size();
  out_.resize(at + packet_block_size(kept.size(), direction, comment));
  write_packet_block(out_.data() + at, interface, time_ns, kept,
                     std::max<uint32_t>(wire_length, static_cast<uint32_t>(frame.size())),
                     direction, comment);
}

void PcapngWriter::statistics(uint32_t interface, uint64_t time_ns, uint64_t received,
                              uint64_t dropped) {
  begin(kInterfaceStatistics);
  u32(interface);
  u32(static_cast<uint32_t>(time_ns >> 32));
  u32(static_cast<uint32_t>(time_ns));
  option(kIsbIfRecv, as_bytes(received));
  option(kIsbIfDrop, as_bytes(dropped));
  end_of_options();
  end();
}

std::vector<uint8_t> PcapngWriter::take() {
  std::vector<uint8_t> out;
  out.swap(out_);
  return out;
}

// A block: type, total length (filled in by end()), body, total length again.
void PcapngWriter::begin(uint32_t type) {
  block_start_ = out_.size();
  u32(type);
  u32(0);
}

void PcapngWriter::end() {
  const auto length = static_cast<uint32_t>(out_.size() - block_start_ + 4);
  std::copy_n(reinterpret_cast<const uint8_t*>(&length), 4, out_.begin() + block_start_ + 4);
  u32(length);
}

// Native byte order, which the section's byte-order magic declares.
void PcapngWriter::u16(uint16_t v) {
  out_.insert(out_.end(), as_bytes(v).begin(), as_bytes(v).end());
}
void PcapngWriter::u32(uint32_t v) {
  out_.insert(out_.end(), as_bytes(v).begin(), as_bytes(v).end());
}
void PcapngWriter::u64(uint64_t v) {
  out_.insert(out_.end(), as_bytes(v).begin(), as_bytes(v).end());
}

void PcapngWriter::bytes(std::span<const uint8_t> b) {
  out_.insert(out_.end(), b.begin(), b.end());
  out_.resize(out_.size() + (4 - b.size() % 4) % 4, 0);
}

void PcapngWriter::option(uint16_t code, std::span<const uint8_t> value) {
  u16(code);
  u16(static_cast<uint16_t>(value.size()));
  bytes(value);
}

void PcapngWriter::option(uint16_t code, std::string_view text) {
  option(code, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

void PcapngWriter::end_of_options() {
  u32(kOptEnd);  // opt_endofopt: code 0, length 0
}

}  // namespace vswitch::capture
