#include "dhcp/lease_table.hpp"

#include <algorithm>

#include "common/ip_address.hpp"

namespace vswitch::plugs::dhcp {

std::string_view to_string(LeaseState s) {
  switch (s) {
    case LeaseState::free:
      return "free";
    case LeaseState::offered:
      return "offered";
    case LeaseState::leased:
      return "leased";
    case LeaseState::declined:
      return "declined";
  }
  return "?";
}

LeaseTable::LeaseTable(const DhcpOptions& options) : o_(options) {
  const uint32_t range = o_.last - o_.first + 1;
  reserved_.assign(range, false);
  for (const Reservation& r : o_.hosts) {
    if (o_.in_range(r.address)) {
      reserved_[r.address - o_.first] = true;
    } else {
      outside_.push_back(r.address);
    }
  }
  const size_t indices = range + outside_.size();
  slot_.assign(indices, -1);
  leases_.reserve(indices);
  index_.reserve(indices);
}

std::optional<uint32_t> LeaseTable::index_of(uint32_t address) const {
  if (o_.in_range(address)) return address - o_.first;
  for (size_t i = 0; i < outside_.size(); ++i) {
    if (outside_[i] == address) return static_cast<uint32_t>(reserved_.size() + i);
  }
  return std::nullopt;
}

// One key a client, so no two records can both be its own: the identifier when it sends one,
// else the MAC of a record that has none.
bool LeaseTable::matches(const Lease& l, const Client& c) {
  if (l.state == LeaseState::declined) return false;
  if (!c.id.empty()) return l.client_id.text() == c.id;
  return l.client_id.empty() && l.mac == c.mac;
}

const Lease* LeaseTable::find(const Client& c) const {
  for (const Lease& l : leases_) {
    if (matches(l, c)) return &l;
  }
  return nullptr;
}

Lease* LeaseTable::find_mut(const Client& c) {
  return const_cast<Lease*>(find(c));
}

bool LeaseTable::available(const Client& c, uint32_t address) const {
  const auto idx = index_of(address);
  if (!idx) return false;
  if (const Reservation* r = o_.reservation_of(c.mac)) {
    if (r->address != address) return false;
  } else if (const Reservation* at = o_.reservation_at(address)) {
    if (at->mac != c.mac) return false;
  }
  const int32_t s = slot_[*idx];
  if (s < 0) return true;
  const Lease& l = leases_[static_cast<size_t>(s)];
  if (l.state == LeaseState::declined) return false;
  return l.state == LeaseState::free || matches(l, c);
}

// The lowest address of the range no one holds: one nobody remembers first, so a client that
// returns finds its own; else the one of the client gone longest.
std::optional<uint32_t> LeaseTable::lowest_free() const {
  std::optional<uint32_t> remembered;
  int64_t oldest = INT64_MAX;
  for (uint32_t off = 0; off < reserved_.size(); ++off) {
    if (reserved_[off]) continue;
    const int32_t s = slot_[off];
    if (s < 0) return o_.first + off;
    const Lease& l = leases_[static_cast<size_t>(s)];
    if (l.state == LeaseState::free && l.expires < oldest) {
      oldest = l.expires;
      remembered = o_.first + off;
    }
  }
  return remembered;
}

void LeaseTable::remove(size_t record) {
  slot_[index_[record]] = -1;
  const size_t last = leases_.size() - 1;
  if (record != last) {
    leases_[record] = leases_[last];
    index_[record] = index_[last];
    slot_[index_[record]] = static_cast<int32_t>(record);
  }
  leases_.pop_back();
  index_.pop_back();
}

// The client's record, moved to `address` if it was elsewhere; whoever was remembered there
// is forgotten.
Lease& LeaseTable::place(const Client& c, uint32_t address) {
  const uint32_t idx = *index_of(address);
  Lease* mine = find_mut(c);
  if (mine != nullptr && mine->address != address) {
    remove(static_cast<size_t>(mine - leases_.data()));
    mine = nullptr;
  }
  if (mine == nullptr) {
    if (slot_[idx] >= 0) remove(static_cast<size_t>(slot_[idx]));
    slot_[idx] = static_cast<int32_t>(leases_.size());
    leases_.emplace_back();
    index_.push_back(idx);
    mine = &leases_.back();
    mine->address = address;
  }
  mine->mac = c.mac;
  mine->client_id.assign(reinterpret_cast<const uint8_t*>(c.id.data()), c.id.size());
  return *mine;
}

std::optional<uint32_t> LeaseTable::offer(const Client& c, std::optional<uint32_t> requested,
                                          int64_t now) {
  expire(now);
  std::optional<uint32_t> address;
  const Lease* mine = find(c);
  if (const Reservation* r = o_.reservation_of(c.mac)) {
    if (available(c, r->address)) address = r->address;
  } else if (mine != nullptr && available(c, mine->address)) {
    address = mine->address;
  } else if (requested && o_.in_range(*requested) && available(c, *requested)) {
    address = requested;
  } else {
    address = lowest_free();
  }
  if (!address) return std::nullopt;
  const bool bound =
      mine != nullptr && mine->address == *address && mine->state == LeaseState::leased;
  Lease& l = place(c, *address);
  // A client asking again while bound keeps its lease; anyone else's offer is held briefly.
  if (!bound) {
    l.state = LeaseState::offered;
    l.expires = now + kOfferHoldS;
    next_expiry_ = std::min(next_expiry_, l.expires);
  }
  return address;
}

void LeaseTable::bind(const Client& c, uint32_t address, const HostName& hostname, int64_t now) {
  expire(now);
  Lease& l = place(c, address);
  l.state = LeaseState::leased;
  l.expires = now + o_.lease_s;
  next_expiry_ = std::min(next_expiry_, l.expires);
  if (!hostname.empty()) l.hostname = hostname;
  dirty_ = true;
}

void LeaseTable::forget_offer(const Client& c) {
  Lease* l = find_mut(c);
  if (l != nullptr && l->state == LeaseState::offered) l->state = LeaseState::free;
}

bool LeaseTable::release(const Client& c, uint32_t address, int64_t now) {
  expire(now);
  Lease* l = find_mut(c);
  if (l == nullptr || l->address != address || l->state == LeaseState::free) return false;
  dirty_ |= l->state == LeaseState::leased;
  l->state = LeaseState::free;
  l->expires = now;
  return true;
}

bool LeaseTable::decline(const Client& c, uint32_t address, int64_t now) {
  expire(now);
  const auto idx = index_of(address);
  if (!idx) return false;
  const int32_t s = slot_[*idx];
  if (s >= 0) {
    const Lease& there = leases_[static_cast<size_t>(s)];
    if (there.state != LeaseState::free && !matches(there, c)) return false;
    dirty_ |= there.state == LeaseState::leased;
    remove(static_cast<size_t>(s));
  }
  slot_[*idx] = static_cast<int32_t>(leases_.size());
  leases_.emplace_back();
  index_.push_back(*idx);
  Lease& l = leases_.back();
  l.address = address;
  l.state = LeaseState::declined;
  l.expires = now + kDeclineHoldS;
  next_expiry_ = std::min(next_expiry_, l.expires);
  return true;
}

// A scan only when something is due, so a message costs no pass over every client.
void LeaseTable::expire(int64_t now) {
  if (now < next_expiry_) return;
  next_expiry_ = INT64_MAX;
  for (size_t i = leases_.size(); i-- > 0;) {
    Lease& l = leases_[i];
    if (l.state == LeaseState::free) continue;
    if (l.expires > now) {
      next_expiry_ = std::min(next_expiry_, l.expires);
      continue;
    }
    if (l.state == LeaseState::declined) {
      remove(i);
      continue;
    }
    dirty_ |= l.state == LeaseState::leased;
    l.state = LeaseState::free;
  }
}

LeaseTable::Restored LeaseTable::restore(const Lease& l, int64_t now) {
  if (l.expires <= now) return Restored::expired;
  const Client c{l.mac, l.client_id.text()};
  if (!available(c, l.address) || find(c) != nullptr) return Restored::refused;
  Lease& mine = place(c, l.address);
  mine.state = LeaseState::leased;
  mine.expires = l.expires;
  next_expiry_ = std::min(next_expiry_, l.expires);
  mine.hostname = l.hostname;
  return Restored::restored;
}

size_t LeaseTable::count(LeaseState s, int64_t now) const {
  return static_cast<size_t>(std::count_if(leases_.begin(), leases_.end(), [&](const Lease& l) {
    const bool live = l.state == LeaseState::free || l.expires > now;
    return live ? l.state == s : s == LeaseState::free;
  }));
}

std::vector<LeaseRow> LeaseTable::rows(int64_t now) const {
  std::vector<LeaseRow> rows;
  for (const Lease& l : leases_) {
    if (l.state == LeaseState::free || l.expires <= now) continue;
    const Reservation* r = o_.reservation_at(l.address);
    LeaseRow row;
    row.mac = l.mac;
    row.address = l.address;
    row.hostname = r != nullptr && !r->name.empty() ? r->name : std::string(l.hostname.view());
    row.expires_in = l.expires - now;
    row.state = to_string(l.state);
    rows.push_back(std::move(row));
  }
  for (const Reservation& r : o_.hosts) {
    const auto held = std::find_if(rows.begin(), rows.end(),
                                   [&](const LeaseRow& row) { return row.address == r.address; });
    if (held != rows.end()) continue;
    LeaseRow row;
    row.mac = r.mac;
    row.address = r.address;
    row.hostname = r.name;
    row.state = "reserved";
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(),
            [](const LeaseRow& a, const LeaseRow& b) { return a.address < b.address; });
  return rows;
}

}  // namespace vswitch::plugs::dhcp
