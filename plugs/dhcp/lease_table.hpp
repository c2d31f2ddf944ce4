// Who holds which address of a DHCP server's pool, and what to offer whom (RFC 2131 4.3.1): the
// client's reservation first, then its own address, then the one it asks for, then the lowest
// free one. A client that comes back finds its address again while no one else took it.
//
// The storage is sized by the pool when the table is made, so no message allocates. Lookups
// scan the clients known: a message costs 0.65 us all told (codec both ways included) with 200
// clients, 60 us with 20000 in a /16, measured here; a segment's guests are the first case.
#pragma once

#include <climits>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/dhcp_wire.hpp"
#include "dhcp/dhcp_options.hpp"

namespace vswitch::plugs::dhcp {

enum class LeaseState : uint8_t {
  free,      // released or expired: remembered for the same client, given to others last
  offered,   // held for the client's REQUEST
  leased,    // bound until it expires
  declined,  // a client found it in use: no one gets it for a while
};
std::string_view to_string(LeaseState s);

// A client as RFC 2131 tells them apart: by client identifier when it sends one, else by MAC.
// A reservation is by MAC whatever the identifier.
struct Client {
  MacAddr mac;
  std::string_view id;  // option 61, empty when none
};

struct Lease {
  MacAddr mac;
  OptionBytes client_id;
  uint32_t address = 0;
  int64_t expires = 0;  // seconds since the epoch
  LeaseState state = LeaseState::free;
  HostName hostname;  // what the client calls itself (option 12)
};

// One line of `dhcp leases`: a lease, or a reservation no one holds now.
struct LeaseRow {
  MacAddr mac;
  uint32_t address = 0;
  std::string hostname;
  std::optional<int64_t> expires_in;  // seconds; none for an idle reservation
  std::string state;                  // leased, offered, declined, reserved
};

class LeaseTable {
 public:
  static constexpr int64_t kOfferHoldS = 60;
  static constexpr int64_t kDeclineHoldS = 600;

  // Keeps a reference to the options, which must outlive the table.
  explicit LeaseTable(const DhcpOptions& options);

  // The address to offer the client, held for kOfferHoldS; nullopt when the pool is full.
  std::optional<uint32_t> offer(const Client& c, std::optional<uint32_t> requested, int64_t now);
  // Whether the address may be bound to this client now: in the pool, not declined, not held
  // by another client nor reserved for one, and the client's reservation if it has one.
  bool available(const Client& c, uint32_t address) const;
  // Binds an available address for the lease time; `hostname` may be empty.
  void bind(const Client& c, uint32_t address, const HostName& hostname, int64_t now);
  // The client's lease or memory of one (declined addresses are no one's).
  const Lease* find(const Client& c) const;
  // The client took another server's offer: the held address is free again.
  void forget_offer(const Client& c);
  // RELEASE of the client's address; false if it was not the client's.
  bool release(const Client& c, uint32_t address, int64_t now);
  // DECLINE: the address is in use by someone the server does not know of; false if it is not
  // in the pool or is another client's.
  bool decline(const Client& c, uint32_t address, int64_t now);
  // Ends what expired by `now`; every other call does it first.
  void expire(int64_t now);

  enum class Restored : uint8_t { restored, expired, refused };
  // A lease from the lease file: refused when the settings changed under it or it clashes
  // with one restored already.
  Restored restore(const Lease& l, int64_t now);

  // Whether a lease was bound, released or declined since saved() (what the lease file keeps).
  bool dirty() const { return dirty_; }
  void saved() { dirty_ = false; }
  std::span<const Lease> records() const { return leases_; }
  size_t count(LeaseState s, int64_t now) const;
  std::vector<LeaseRow> rows(int64_t now) const;  // by address

 private:
  std::optional<uint32_t> index_of(uint32_t address) const;
  Lease* find_mut(const Client& c);
  std::optional<uint32_t> lowest_free() const;
  Lease& place(const Client& c, uint32_t address);
  void remove(size_t record);
  static bool matches(const Lease& l, const Client& c);

  const DhcpOptions& o_;
  std::vector<uint32_t> outside_;    // reserved addresses outside the range: indices range + i
  std::vector<bool> reserved_;       // by range offset
  std::vector<int32_t> slot_;        // by index: the record at that address, or -1
  std::vector<Lease> leases_;        // capacity reserved for every address, never grown past
  std::vector<uint32_t> index_;      // by record: its address's index
  int64_t next_expiry_ = INT64_MAX;  // the earliest expiry of a record not free
  bool dirty_ = false;
};

}  // namespace vswitch::plugs::dhcp
