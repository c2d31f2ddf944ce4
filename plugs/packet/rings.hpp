// The two rings an AF_PACKET socket shares with the kernel, seen from user space. Receive is
// TPACKET_V3: the kernel fills blocks with frames of any length and hands a block over whole,
// when it is full or when its retire timer fires, so a burst costs no system call; the walker
// takes frames out one by one and gives each block back once it has read the last. Transmit
// is a ring of fixed slots: a frame is written into the next free slot and marked for sending,
// and one sendto() hands the kernel everything marked.
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

class TxRing {
 public:
  // Where a slot's frame starts: after the header, as the kernel reads it unless told otherwise.
  static constexpr uint32_t kDataOffset = TPACKET3_HDRLEN - sizeof(sockaddr_ll);

  TxRing() = default;
  TxRing(uint8_t* base, uint32_t slot_size, uint32_t slots)
      : base_(base), slot_size_(slot_size), slots_(slots) {}

  // The next slot's frame buffer when the kernel is done with it, else nullptr (the ring is
  // full of frames still being sent).
  uint8_t* claim() {
    tpacket3_hdr* h = slot(head_);
    if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE) return nullptr;
    return reinterpret_cast<uint8_t*>(h) + kDataOffset;
  }
  // Marks the claimed slot's `len` bytes for sending and moves on.
  void commit(uint32_t len) {
    tpacket3_hdr* h = slot(head_);
    h->tp_len = len;
    h->tp_next_offset = 0;
    __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
    head_ = head_ + 1 == slots_ ? 0 : head_ + 1;
  }
  // After a sendto() that failed: the last `n` committed slots the kernel did not take become
  // free again, and are claimed next, where the kernel will look. Returns how many those were.
  uint32_t take_back(uint32_t n) {
    uint32_t back = 0;
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t k = (head_ + slots_ - 1 - i) % slots_;
      tpacket3_hdr* h = slot(k);
      if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_SEND_REQUEST) break;
      __atomic_store_n(&h->tp_status, TP_STATUS_AVAILABLE, __ATOMIC_RELEASE);
      ++back;
    }
    head_ = (head_ + slots_ - back) % slots_;
    return back;
  }

  uint32_t slot_size() const { return slot_size_; }
  uint32_t slots() const { return slots_; }
  uint32_t room() const { return slot_size_ - kDataOffset; }

 private:
  tpacket3_hdr* slot(uint32_t i) const {
    return reinterpret_cast<tpacket3_hdr*>(base_ + static_cast<size_t>(i) * slot_size_);
  }

  uint8_t* base_ = nullptr;
  uint32_t slot_size_ = 0;
  uint32_t slots_ = 0;
  uint32_t head_ = 0;
};

}  // namespace vswitch::plugs::packet
