#include "vswitch/fdb.hpp"

#include <rte_pause.h>

#include <algorithm>
#include <bit>
#include <utility>

namespace vswitch {

namespace {

// At most half full keeps linear probes short even for unlucky hashes.
size_t slots_for(size_t entries) {
  return std::bit_ceil(std::max<size_t>(16, entries * 2));
}

// A new or flushed table has room for a few hundred entries, however high its limit.
size_t first_slots(uint32_t limit) {
  return slots_for(std::min<size_t>(limit, 256));
}

}  // namespace

Fdb::WriteLock::WriteLock(const Fdb& fdb) : flag_(fdb.write_lock_) {
  while (flag_.test_and_set(std::memory_order_acquire)) {
    while (flag_.test(std::memory_order_relaxed))
      rte_pause();
  }
}

Fdb::Fdb(uint32_t limit, uint64_t seed) : limit_(std::max<uint32_t>(limit, 1)), seed_(seed) {
  reset(first_slots(limit_));
}

void Fdb::share() {
  WriteLock lock(*this);
  shared_ = true;
  if (slots_.size() < slots_for(limit_)) rebuild(slots_for(limit_));
}

// The first probe found no entry to refresh: now under the lock, and from the start, since a
// writer may have changed the table since.
Fdb::LearnResult Fdb::learn_locked(uint64_t key, uint16_t port, uint64_t now_ms, uint32_t hold_ms) {
  WriteLock lock(*this);
  const uint32_t i = find_slot(key);
  return i == kNil ? learn_new(key, port, now_ms) : learn_known(i, port, now_ms, hold_ms);
}

// Fresh vectors rather than assign(), so that a smaller table gives the memory of a larger back.
void Fdb::reset(size_t capacity) {
  slots_ = std::vector<Slot>(capacity);
  links_ = std::vector<Link>(capacity);
  // The ports stay known, and in the heap: all at zero is still a heap.
  for (PortLists& p : ports_)
    p.dynamic = p.fixed = List{};
  mask_ = capacity - 1;
  shift_ = 64 - static_cast<unsigned>(std::countr_zero(capacity));
  size_ = 0;
  static_count_ = 0;
}

// Moves every entry into a table of `capacity` slots, in the old table's order: after a doubling
// an entry's home is twice its old one or one more, so both tables are walked almost in order (the
// list links are translated in a second pass). Walking the LRU lists instead reads both tables at
// random: growing past 4 M entries took 2.2-3.7 s that way, 0.36-0.6 s this way, most of it the
// kernel handing over the new table's pages.
void Fdb::rebuild(size_t capacity) {
  const std::vector<Slot> old_slots = std::exchange(slots_, std::vector<Slot>(capacity));
  const std::vector<Link> old_links = std::exchange(links_, std::vector<Link>(capacity));
  mask_ = capacity - 1;
  shift_ = 64 - static_cast<unsigned>(std::countr_zero(capacity));
  std::vector<uint32_t> moved_to(old_slots.size(), kNil);
  for (size_t i = 0; i < old_slots.size(); ++i) {
    if (old_slots[i].key == 0) continue;
    size_t j = home(old_slots[i].key & ~kUsed);
    while (slots_[j].key != 0)
      j = (j + 1) & mask_;
    slots_[j] = old_slots[i];
    links_[j] = old_links[i];
    moved_to[i] = static_cast<uint32_t>(j);
  }
  const auto to = [&](uint32_t i) { return i == kNil ? kNil : moved_to[i]; };
  for (size_t j = 0; j < capacity; ++j) {
    if (slots_[j].key == 0) continue;
    links_[j].prev = to(links_[j].prev);
    links_[j].next = to(links_[j].next);
  }
  for (PortLists& p : ports_) {
    for (List* l : {&p.dynamic, &p.fixed}) {
      l->head = to(l->head);
      l->tail = to(l->tail);
    }
  }
}

// Called only before a new entry goes in, never on a lookup or a refresh. Doubling makes growth
// amortised O(1) per learned entry, and once a table has reached its working size it does not
// allocate again: the datapath's steady state stays allocation free. Below the limit the table
// never needs more than slots_for(limit_), which doubling reaches exactly.
void Fdb::make_room_for_one() {
  if ((size() + 1) * 2 > slots_.size()) rebuild(slots_.size() * 2);
}

Fdb::List& Fdb::list_of(const Slot& s) {
  const uint16_t port = port_of(s.meta);
  // The segment tells the FDB its ports as they join: only an FDB used alone grows here.
  if (port >= ports_.size()) [[unlikely]]
    grow_ports(size_t{port} + 1);
  PortLists& p = ports_[port];
  return (flags_of(s.meta) & kStatic) ? p.fixed : p.dynamic;
}

void Fdb::reserve_ports(size_t n) {
  WriteLock lock(*this);
  grow_ports(n);
}

void Fdb::grow_ports(size_t n) {
  while (ports_.size() < n) {
    ports_.emplace_back();
    by_count_.push_back(static_cast<uint16_t>(ports_.size() - 1));
    ports_.back().heap_at = static_cast<uint32_t>(by_count_.size() - 1);
  }
}

// Ports ordered by their count of dynamic entries in a binary max-heap, as Open vSwitch keeps
// them, so that fair eviction finds the port holding the most at the top, in O(1), and a change
// of one port's count costs O(log ports).
void Fdb::recount(uint16_t port) {
  auto count = [&](size_t at) { return ports_[by_count_[at]].dynamic.count; };
  auto swap = [&](size_t a, size_t b) {
    std::swap(by_count_[a], by_count_[b]);
    ports_[by_count_[a]].heap_at = static_cast<uint32_t>(a);
    ports_[by_count_[b]].heap_at = static_cast<uint32_t>(b);
  };
  size_t i = ports_[port].heap_at;
  while (i > 0 && count((i - 1) / 2) < count(i)) {
    swap(i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
  for (;;) {
    size_t most = i;
    for (size_t child : {2 * i + 1, 2 * i + 2}) {
      if (child < by_count_.size() && count(child) > count(most)) most = child;
    }
    if (most == i) return;
    swap(i, most);
    i = most;
  }
}

uint32_t Fdb::find_slot(uint64_t key) const {
  const uint64_t want = key | kUsed;
  for (size_t i = home(key);; i = (i + 1) & mask_) {
    if (slots_[i].key == want) return static_cast<uint32_t>(i);
    if (slots_[i].key == 0) return kNil;
  }
}

void Fdb::link_tail(uint32_t i) {
  List& l = list_of(slots_[i]);
  links_[i].prev = l.tail;
  links_[i].next = kNil;
  if (l.tail != kNil) {
    links_[l.tail].next = i;
  } else {
    l.head = i;
  }
  l.tail = i;
  ++l.count;
}

void Fdb::unlink(uint32_t i) {
  List& l = list_of(slots_[i]);
  const Link& n = links_[i];
  if (n.prev != kNil) {
    links_[n.prev].next = n.next;
  } else {
    l.head = n.next;
  }
  if (n.next != kNil) {
    links_[n.next].prev = n.prev;
  } else {
    l.tail = n.prev;
  }
  --l.count;
}

uint32_t Fdb::insert(uint64_t key, uint16_t port, uint8_t flags, uint32_t seen_s, uint32_t now_ms) {
  size_t i = home(key);
  while (slots_[i].key != 0)
    i = (i + 1) & mask_;
  store_meta(slots_[i], make_meta(port, flags, seen_s));
  store_key(slots_[i], key | kUsed);
  links_[i].changed_ms = now_ms;
  const auto at = static_cast<uint32_t>(i);
  link_tail(at);
  size_.fetch_add(1, std::memory_order_relaxed);
  if (flags & kStatic) {
    ++static_count_;
  } else {
    recount(port);
  }
  return at;
}

// `to` is empty: its key was cleared before its meta word is written (see the top of fdb.hpp).
void Fdb::move_slot(uint32_t from, uint32_t to) {
  store_meta(slots_[to], slots_[from].meta);
  store_key(slots_[to], slots_[from].key);
  links_[to] = links_[from];
  List& l = list_of(slots_[to]);
  const Link& n = links_[to];
  if (n.prev != kNil) {
    links_[n.prev].next = to;
  } else {
    l.head = to;
  }
  if (n.next != kNil) {
    links_[n.next].prev = to;
  } else {
    l.tail = to;
  }
  store_key(slots_[from], 0);
}

// Backward-shift deletion: later members of the probe run move into the hole, so lookups never
// need tombstones and the table never degrades with churn.
void Fdb::erase_at(uint32_t i) {
  unlink(i);
  if (flags_of(slots_[i].meta) & kStatic) {
    --static_count_;
  } else {
    recount(port_of(slots_[i].meta));
  }
  store_key(slots_[i], 0);
  size_.fetch_sub(1, std::memory_order_relaxed);
  uint32_t hole = i;
  for (size_t j = (hole + 1) & mask_; slots_[j].key != 0; j = (j + 1) & mask_) {
    const size_t want = home(slots_[j].key & ~kUsed);
    // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
    const bool home_after_hole =
        hole <= j ? (want > hole && want <= j) : (want > hole || want <= j);
    if (home_after_hole) continue;
    move_slot(static_cast<uint32_t>(j), hole);
    hole = static_cast<uint32_t>(j);
  }
}

bool Fdb::evict_one() {
  if (by_count_.empty() || ports_[by_count_[0]].dynamic.count == 0) return false;
  erase_at(ports_[by_count_[0]].dynamic.head);
  ++counters_.evicted;
  return true;
}

Fdb::LearnResult Fdb::learn_known(uint32_t i, uint16_t port, uint64_t now_ms, uint32_t hold_ms) {
  const auto now_s = static_cast<uint32_t>(now_ms / 1000);
  const auto now32 = static_cast<uint32_t>(now_ms);
  Slot& s = slots_[i];
  const uint16_t old = port_of(s.meta);
  const uint8_t flags = flags_of(s.meta);
  if (flags & kStatic) return {Learned::kept_static, old};
  if (old == port) {
    // Refreshed at most once a second per entry: the LRU order only needs that much.
    store_meta(s, make_meta(port, flags, now_s));
    unlink(i);
    link_tail(i);
    return {Learned::refreshed};
  }
  const PortLimit limit = limit_of(port);
  if (entries_of(port) >= limit.max_entries) return {Learned::over_limit, old};
  const bool flapping = now32 - links_[i].changed_ms < hold_ms;
  unlink(i);
  recount(old);
  // A move keeps the slot's key: a reader sees the old port or the new one.
  store_meta(s, make_meta(port, limit.sticky ? flags | kStatic : flags, now_s));
  links_[i].changed_ms = now32;
  if (limit.sticky) {
    ++static_count_;
    link_tail(i);
  } else {
    link_tail(i);
    recount(port);
  }
  ++counters_.moved;
  return {Learned::moved, old, flapping};
}

Fdb::LearnResult Fdb::learn_new(uint64_t key, uint16_t port, uint64_t now_ms) {
  const PortLimit limit = limit_of(port);
  if (entries_of(port) >= limit.max_entries) return {Learned::over_limit};
  if (size() >= limit_ && !evict_one()) {
    ++counters_.refused;
    return {Learned::refused};
  }
  make_room_for_one();
  insert(key, port, limit.sticky ? kStatic : 0, static_cast<uint32_t>(now_ms / 1000),
         static_cast<uint32_t>(now_ms));
  if (!limit.sticky) ++counters_.learned;
  return {Learned::added};
}

Fdb::LearnResult Fdb::predict(uint64_t key, uint16_t port, uint64_t now_ms, uint32_t hold_ms,
                              bool* evicts) const {
  *evicts = false;
  WriteLock lock(*this);
  const uint32_t i = find_slot(key);
  const uint16_t at = i == kNil ? kNoPort : port_of(slots_[i].meta);
  if (i != kNil) {
    if (flags_of(slots_[i].meta) & kStatic) return {Learned::kept_static, at};
    if (at == port) return {Learned::refreshed};
  }
  if (entries_of(port) >= limit_of(port).max_entries) return {Learned::over_limit, at};
  if (i != kNil) {
    return {Learned::moved, at, static_cast<uint32_t>(now_ms) - links_[i].changed_ms < hold_ms};
  }
  if (size() < limit_) return {Learned::added};
  // Full: a dynamic entry somewhere makes room, or nothing does.
  if (size() == static_count_) return {Learned::refused};
  *evicts = true;
  return {Learned::added};
}

void Fdb::set_port_limit(uint16_t port, PortLimit limit) {
  WriteLock lock(*this);
  grow_ports(size_t{port} + 1);
  ports_[port].limit = limit;
}

bool Fdb::add_static(uint64_t key, uint16_t port) {
  WriteLock lock(*this);
  const uint32_t i = find_slot(key);
  if (i != kNil) erase_at(i);
  if (size() >= limit_ && !evict_one()) return false;
  make_room_for_one();
  insert(key, port, kStatic, 0, 0);
  return true;
}

bool Fdb::remove(uint64_t key) {
  WriteLock lock(*this);
  const uint32_t i = find_slot(key);
  if (i == kNil) return false;
  erase_at(i);
  return true;
}

size_t Fdb::flush_port(uint16_t port) {
  WriteLock lock(*this);
  if (port >= ports_.size()) return 0;
  size_t n = 0;
  for (List* l : {&ports_[port].dynamic, &ports_[port].fixed}) {
    while (l->head != kNil) {
      erase_at(l->head);
      ++n;
    }
  }
  return n;
}

size_t Fdb::flush_all() {
  WriteLock lock(*this);
  const size_t n = size();
  reset(shared_ ? slots_for(limit_) : first_slots(limit_));
  return n;
}

size_t Fdb::age(uint64_t now_ms, uint32_t max_age_s) {
  WriteLock lock(*this);
  const auto now_s = static_cast<uint32_t>(now_ms / 1000);
  size_t n = 0;
  for (PortLists& p : ports_) {
    while (p.dynamic.head != kNil && now_s - seen_of(slots_[p.dynamic.head].meta) >= max_age_s) {
      erase_at(p.dynamic.head);
      ++n;
    }
  }
  counters_.aged += n;
  return n;
}

static Fdb::Entry make_entry(uint64_t key, uint16_t port, bool is_static, uint32_t idle_s) {
  return Fdb::Entry{MacAddr(key), static_cast<uint16_t>((key >> 48) & 0xfff), port, is_static,
                    is_static ? 0 : idle_s};
}

void Fdb::for_each(uint64_t now_ms, const std::function<void(const Entry&)>& fn) const {
  const auto now_s = static_cast<uint32_t>(now_ms / 1000);
  std::vector<Entry> entries;  // fn may call back into the FDB, so not under the lock
  {
    WriteLock lock(*this);
    entries.reserve(size());
    for (const Slot& s : slots_) {
      if (s.key == 0) continue;
      entries.push_back(make_entry(s.key & ~kUsed, port_of(s.meta), flags_of(s.meta) & kStatic,
                                   now_s - seen_of(s.meta)));
    }
  }
  for (const Entry& e : entries)
    fn(e);
}

std::optional<Fdb::Entry> Fdb::find(uint64_t key, uint64_t now_ms) const {
  WriteLock lock(*this);
  const uint32_t i = find_slot(key);
  if (i == kNil) return std::nullopt;
  const uint64_t meta = slots_[i].meta;
  return make_entry(key, port_of(meta), flags_of(meta) & kStatic,
                    static_cast<uint32_t>(now_ms / 1000) - seen_of(meta));
}

void Fdb::set_limit(uint32_t limit) {
  WriteLock lock(*this);
  limit_ = std::max<uint32_t>(limit, 1);
  while (size() > limit_ && evict_one()) {
  }
  // Static entries beyond a limit below their count: the last ports' newest go.
  for (size_t p = ports_.size(); p-- > 0 && size() > limit_;) {
    while (size() > limit_ && ports_[p].fixed.tail != kNil)
      erase_at(ports_[p].fixed.tail);
  }
  rebuild(shared_ ? slots_for(limit_) : std::max(first_slots(limit_), slots_for(size())));
}

}  // namespace vswitch
