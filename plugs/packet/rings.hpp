// The receive ring an AF_PACKET socket shares with the kernel (TPACKET_V3), seen from user
// space: the kernel fills blocks with frames of any length and hands a block over whole, when
// it is full or when its retire timer fires, so a burst costs no system call; the walker takes
// frames out one by one and gives each block back once it has read the last.
#pragma once

#include <linux/if_packet.h>

#include <cstdint>

namespace vswitch::plugs::packet {

class RxRing {
 public:
  RxRing() = default;
  RxRing(uint8_t* base, uint32_t block_size, uint32_t blocks)
      : base_(base), block_size_(block_size), blocks_(blocks) {}

  // The next frame the kernel handed over, or nullptr when no further block is ours yet. A
  // frame stays valid until the next call.
  const tpacket3_hdr* next() {
    while (left_ == 0) {
      give_back();
      tpacket_block_desc* b = block(index_);
      if ((__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) {
        return nullptr;
      }
      open_ = b;
      left_ = b->hdr.bh1.num_pkts;  // a block retired by its timer may hold none
      frame_ = reinterpret_cast<const uint8_t*>(b) + b->hdr.bh1.offset_to_first_pkt;
    }
    const auto* h = reinterpret_cast<const tpacket3_hdr*>(frame_);
    frame_ += h->tp_next_offset;
    --left_;
    return h;
  }

  // Hands the block being read back to the kernel once every frame of it was taken, so that
  // the kernel can fill it again before the next burst is asked for.
  void finish() {
    if (left_ == 0) give_back();
  }

  uint32_t block_size() const { return block_size_; }
  uint32_t blocks() const { return blocks_; }

 private:
  tpacket_block_desc* block(uint32_t i) const {
    return reinterpret_cast<tpacket_block_desc*>(base_ + static_cast<size_t>(i) * block_size_);
  }
  void give_back() {
    if (open_ == nullptr) return;
    __atomic_store_n(&open_->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    open_ = nullptr;
    index_ = index_ + 1 == blocks_ ? 0 : index_ + 1;
  }

  uint8_t* base_ = nullptr;
  uint32_t block_size_ = 0;
  uint32_t blocks_ = 0;
  uint32_t index_ = 0;                  // the block read next
  tpacket_block_desc* open_ = nullptr;  // the block being read, still ours
  uint32_t left_ = 0;                   // its frames not yet taken
  const uint8_t* frame_ = nullptr;
};

}  // namespace vswitch::plugs::packet
