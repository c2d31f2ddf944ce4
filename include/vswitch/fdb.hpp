// The forwarding database of one segment: (MAC, VLAN) -> port, learned from source addresses.
//
// Lookups touch one 16-byte slot of an open-addressed, linearly probed table kept at most half
// full, so a hit or a miss is one cache line at 1 M entries. Everything the hot path does not
// need (per-port LRU links, move times) lives in a parallel cold array, which makes ageing,
// per-port flushes and fair eviction (Open vSwitch's rule: when full, take the oldest entry of
// the port holding the most, found at the top of a heap of ports) cost O(1) per entry, with no
// scan of the table or of the ports.
//
// The limit bounds the table, it does not size it: both arrays start with room for a few hundred
// entries and double as entries are learned, so a large limit costs memory only once it is used.
//
// Several datapath threads may share one FDB (share()): lookups and the learning of a known
// address on its own port take no lock and write nothing; what changes the table (a new
// address, a move, the once-a-second refresh, and every other change) takes the FDB's lock, as
// VPP and Open vSwitch write their tables only when something is new. A reader can meet a slot
// while a writer changes it: a slot is two words, the key and what it maps to, and a reader
// trusts what it read only if the key is the same after it (writers clear a slot's key before
// they give it another entry); otherwise, or while an entry is shifted past its probe, the
// lookup misses, and a miss floods, as it would for an address not yet learned.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <vector>

#include "vswitch/ether.hpp"

namespace vswitch {

inline constexpr uint16_t kNoPort = 0xffff;

// What one port may hold (port security), checked only where an entry is added or moves to
// the port, so that a guarded port's known addresses cost one probe like anyone's and an
// unguarded port's learning does not change. A sticky port's new entries are learned static.
struct FdbPortLimit {
  uint32_t max_entries = UINT32_MAX;  // dynamic and static together
  bool sticky = false;
};

class Fdb {
 public:
  struct Counters {
    uint64_t learned = 0;  // new dynamic entries
    uint64_t moved = 0;    // a known MAC seen on another port
    uint64_t aged = 0;
    uint64_t evicted = 0;  // pushed out by the size limit
    uint64_t refused = 0;  // not learned: the table is full of static entries
  };

  // over_limit: a new or moving entry the port's PortLimit has no room for.
  enum class Learned : uint8_t { refreshed, added, moved, kept_static, refused, over_limit };
  struct LearnResult {
    Learned what;
    uint16_t old_port = kNoPort;  // for moved; for kept_static, the entry's port
    bool flapping = false;        // moved within the hold-down time of its last change
  };

  using PortLimit = FdbPortLimit;

  struct Entry {
    MacAddr mac;
    uint16_t vlan;
    uint16_t port;
    bool is_static;
    uint32_t idle_s;  // seconds since last seen (0 for static entries)
  };

  // limit: the most entries held, dynamic and static together; memory grows with what is held.
  explicit Fdb(uint32_t limit, uint64_t seed = std::random_device{}());

  static uint64_t key(uint64_t mac48, uint16_t vlan) {
    return mac48 | static_cast<uint64_t>(vlan) << 48;
  }

  void prefetch(uint64_t key) const { __builtin_prefetch(&slots_[home(key)]); }
  // Whether lookups are likely to miss the cache, so that prefetching a burst pays.
  bool large() const { return slots_.size() * sizeof(Slot) > (1u << 20); }

  uint16_t lookup(uint64_t key) const {
    const uint64_t meta = read(key);
    return meta == kMissing ? kNoPort : port_of(meta);
  }

  // now_ms: a monotonic millisecond clock. The common case, a known address seen again on its
  // port within the same second, reads one slot and writes nothing.
  LearnResult learn(uint64_t key, uint16_t port, uint64_t now_ms, uint32_t hold_ms) {
    const uint64_t meta = read(key);
    if (meta != kMissing) {
      // A static entry stays where it is, whoever claims it.
      if (flags_of(meta) & kStatic) return {Learned::kept_static, port_of(meta)};
      if (port_of(meta) == port && seen_of(meta) == static_cast<uint32_t>(now_ms / 1000)) {
        return {Learned::refreshed};
      }
    }
    return learn_locked(key, port, now_ms, hold_ms);
  }

  // From now on other threads may look up and learn at the same time as this one. The table
  // takes its full size at once, since a table that grows is a table that moves under its
  // readers; what still rebuilds it (flush_all(), set_limit()) must then be called while no
  // other thread uses the FDB.
  void share();

  // What learn() would do, doing nothing (a synthetic trace); `evicts` says whether a new entry
  // would push out another.
  LearnResult predict(uint64_t key, uint16_t port, uint64_t now_ms, uint32_t hold_ms,
                      bool* evicts) const;
  // The port's limit from now on (entries it already holds stay); until set, none.
  void set_port_limit(uint16_t port, PortLimit limit);

  bool add_static(uint64_t key, uint16_t port);  // false when full of static entries
  bool remove(uint64_t key);
  size_t flush_port(uint16_t port);  // dynamic and static entries of the port
  size_t flush_all();
  size_t age(uint64_t now_ms, uint32_t max_age_s);  // removes dynamic entries idle that long

  void for_each(uint64_t now_ms, const std::function<void(const Entry&)>& fn) const;
  std::optional<Entry> find(uint64_t key, uint64_t now_ms) const;

  size_t size() const { return size_.load(std::memory_order_relaxed); }
  uint32_t limit() const { return limit_; }
  // What no longer fits is evicted by the usual rule; the table is then rebuilt for what it holds.
  void set_limit(uint32_t limit);
  size_t dynamic_entries_of(uint16_t port) const {
    return port < ports_.size() ? ports_[port].dynamic.count : 0;
  }
  size_t entries_of(uint16_t port) const {
    return port < ports_.size() ? ports_[port].dynamic.count + ports_[port].fixed.count : 0;
  }
  const Counters& counters() const { return counters_; }
  // Makes room for ports 0..n-1 ahead of their learning, which then never allocates for them.
  void reserve_ports(size_t n);

 private:
  static constexpr uint64_t kUsed = uint64_t{1} << 63;
  static constexpr uint32_t kNil = 0xffffffff;
  static constexpr uint8_t kStatic = 1;
  static constexpr uint64_t kMissing = ~uint64_t{0};  // read(): no such key (never a meta word)

  struct Slot {     // hot: all a lookup reads
    uint64_t key;   // key | kUsed, or 0 when empty
    uint64_t meta;  // port (bits 0-15), flags (16-23), seen_s (32-63)
  };
  static_assert(sizeof(Slot) == 16);
  static uint64_t make_meta(uint16_t port, uint8_t flags, uint32_t seen_s) {
    return port | uint64_t{flags} << 16 | uint64_t{seen_s} << 32;
  }
  static uint16_t port_of(uint64_t meta) { return static_cast<uint16_t>(meta); }
  static uint8_t flags_of(uint64_t meta) { return static_cast<uint8_t>(meta >> 16); }
  static uint32_t seen_of(uint64_t meta) { return static_cast<uint32_t>(meta >> 32); }

  // The key's meta word, or kMissing. Lock-free (see the top): the meta word counts only if
  // the slot still holds the key after it was read.
  uint64_t read(uint64_t key) const {
    const uint64_t want = key | kUsed;
    for (size_t i = home(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      const uint64_t k = __atomic_load_n(&s.key, __ATOMIC_ACQUIRE);
      if (k == want) {
        const uint64_t meta = __atomic_load_n(&s.meta, __ATOMIC_ACQUIRE);
        return __atomic_load_n(&s.key, __ATOMIC_RELAXED) == want ? meta : kMissing;
      }
      if (k == 0) return kMissing;
    }
  }
  // Writes to a slot that readers may be reading: a new entry's meta word before its key, and
  // a key cleared before the slot's meta word is written again.
  static void store_meta(Slot& s, uint64_t meta) {
    __atomic_store_n(&s.meta, meta, __ATOMIC_RELEASE);
  }
  static void store_key(Slot& s, uint64_t key) { __atomic_store_n(&s.key, key, __ATOMIC_RELEASE); }
  // Serialises the writers; a spin lock, since what it guards is short and rare a frame.
  class WriteLock {
   public:
    explicit WriteLock(const Fdb& fdb);
    ~WriteLock() { flag_.clear(std::memory_order_release); }
    WriteLock(const WriteLock&) = delete;
    WriteLock& operator=(const WriteLock&) = delete;

   private:
    std::atomic_flag& flag_;
  };
  LearnResult learn_locked(uint64_t key, uint16_t port, uint64_t now_ms, uint32_t hold_ms);
  struct Link {  // cold: the owning port's list, least recently seen at the head
    uint32_t prev;
    uint32_t next;
    uint32_t changed_ms;  // when the entry was learned or last moved (wraps; differences only)
  };
  struct List {
    uint32_t head = kNil;
    uint32_t tail = kNil;
    uint32_t count = 0;
  };
  struct PortLists {
    List dynamic;
    List fixed;
    uint32_t heap_at = 0;  // the port's place in by_count_
    PortLimit limit;
  };

  // The top bits of the product (Fibonacci hashing) depend on every bit of the key. Its low bits
  // miss the key's high ones, which are what tells real keys apart: a MAC's last bytes (the
  // first byte is the key's lowest) and the VLAN. With the low bits, 1 K numbered MACs lay 15-50
  // slots from home in a 2-4 K-slot table on average, one MAC in 1 K VLANs 511 at any size.
  size_t home(uint64_t key) const {
    return static_cast<size_t>(((key ^ seed_) * 0x9e3779b97f4a7c15ull) >> shift_);
  }
  List& list_of(const Slot& s);
  void grow_ports(size_t n);  // reserve_ports() under the lock
  uint32_t find_slot(uint64_t key) const;
  LearnResult learn_known(uint32_t i, uint16_t port, uint64_t now_ms, uint32_t hold_ms);
  LearnResult learn_new(uint64_t key, uint16_t port, uint64_t now_ms);
  PortLimit limit_of(uint16_t port) const {
    return port < ports_.size() ? ports_[port].limit : PortLimit{};
  }
  uint32_t insert(uint64_t key, uint16_t port, uint8_t flags, uint32_t seen_s, uint32_t now_ms);
  void erase_at(uint32_t i);
  void move_slot(uint32_t from, uint32_t to);
  void recount(uint16_t port);  // after a change of the port's dynamic count
  void link_tail(uint32_t i);
  void unlink(uint32_t i);
  bool evict_one();
  void make_room_for_one();
  void reset(size_t capacity);
  void rebuild(size_t capacity);

  std::vector<Slot> slots_;
  std::vector<Link> links_;
  std::vector<PortLists> ports_;
  std::vector<uint16_t> by_count_;  // port ids, a max-heap on their dynamic entries
  size_t mask_ = 0;
  unsigned shift_ = 64;           // 64 - log2(capacity)
  std::atomic<size_t> size_ = 0;  // read by any thread; changed under the lock
  size_t static_count_ = 0;
  uint32_t limit_ = 0;
  uint64_t seed_;
  Counters counters_;
  bool shared_ = false;
  mutable std::atomic_flag write_lock_;
};

}  // namespace vswitch
