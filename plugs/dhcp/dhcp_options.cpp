#include "dhcp/dhcp_options.hpp"

#include <algorithm>

#include "common/dhcp_wire.hpp"
#include "common/ip_address.hpp"
#include "common/option_values.hpp"
#include "vswitch/error.hpp"

namespace vswitch::plugs::dhcp {

namespace {

constexpr uint32_t kMinLease = 60;
constexpr uint32_t kMaxLease = 10 * 365 * 86400;

uint32_t parse_address(std::string_view key, std::string_view text) {
  return host_order(parse_ipv4(key, text));
}

// "255.255.255.0" or a prefix length, "24".
uint32_t parse_netmask(std::string_view text) {
  if (text.find('.') == std::string_view::npos) {
    const uint32_t bits = parse_number("netmask", text, 1, 30);
    return ~uint32_t{0} << (32 - bits);
  }
  const uint32_t mask = parse_address("netmask", text);
  if (!is_netmask(mask) || mask == 0 || ~mask < 3) {
    throw ConfigError("netmask=" + std::string(text) + ": not a netmask of a subnet with hosts");
  }
  return mask;
}

// "A:B:C", at most `max` of them.
std::vector<uint32_t> parse_address_list(std::string_view key, std::string_view v, size_t max) {
  std::vector<uint32_t> out;
  while (!v.empty()) {
    const size_t colon = v.find(':');
    out.push_back(parse_address(key, v.substr(0, colon)));
    v = colon == std::string_view::npos ? std::string_view{} : v.substr(colon + 1);
  }
  if (out.empty() || out.size() > max) {
    throw ConfigError(std::string(key) + ": give 1 to " + std::to_string(max) +
                      " addresses, separated by ':'");
  }
  return out;
}

using Setter = void (*)(DhcpOptions&, std::string_view key, std::string_view value);

struct Key {
  std::string_view name;
  Setter set;
};

const Key kKeys[] = {
    {"range",
     [](DhcpOptions& o, std::string_view k, std::string_view v) {
       const size_t dash = v.find('-');
       if (dash == std::string_view::npos) {
         throw ConfigError("range=" + std::string(v) + ": use START-END, like " +
                           "192.168.100.10-192.168.100.20");
       }
       o.first = parse_address(k, v.substr(0, dash));
       o.last = parse_address(k, v.substr(dash + 1));
     }},
    {"netmask",
     [](DhcpOptions& o, std::string_view, std::string_view v) { o.netmask = parse_netmask(v); }},
    {"router", [](DhcpOptions& o, std::string_view k,
                  std::string_view v) { o.router = parse_address(k, v); }},
    {"dns", [](DhcpOptions& o, std::string_view k,
               std::string_view v) { o.dns = parse_address_list(k, v, DhcpOptions::kMaxDns); }},
    {"taken",
     [](DhcpOptions& o, std::string_view k, std::string_view v) {
       o.taken = parse_address_list(k, v, DhcpOptions::kMaxTaken);
     }},
    {"lease", [](DhcpOptions& o, std::string_view k,
                 std::string_view v) { o.lease_s = parse_number(k, v, kMinLease, kMaxLease); }},
    {"host", [](DhcpOptions& o, std::string_view,
                std::string_view v) { o.hosts.push_back(Reservation::parse(v)); }},
    {"server", [](DhcpOptions& o, std::string_view k,
                  std::string_view v) { o.server = parse_address(k, v); }},
    {"leases",
     [](DhcpOptions& o, std::string_view, std::string_view v) {
       if (v.empty()) throw ConfigError("leases=: give a file, or none to keep them in memory");
       o.lease_file = v == "none" ? std::string() : std::string(v);
     }},
};

const Key* find_key(std::string_view name) {
  for (const Key& k : kKeys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

}  // namespace

Reservation Reservation::parse(std::string_view text) {
  const std::string what = "host=" + std::string(text);
  const size_t c1 = text.find(',');
  if (c1 == std::string_view::npos) throw ConfigError(what + ": use MAC,IP[,NAME]");
  const size_t c2 = text.find(',', c1 + 1);
  Reservation r;
  const auto mac = MacAddr::parse(text.substr(0, c1));
  if (!mac || mac->is_multicast()) throw ConfigError(what + ": not a unicast MAC address");
  r.mac = *mac;
  r.address =
      parse_address("host", text.substr(c1 + 1, c2 == std::string_view::npos ? c2 : c2 - c1 - 1));
  if (c2 != std::string_view::npos) {
    r.name = text.substr(c2 + 1);
    if (!HostName::valid(r.name)) {
      throw ConfigError(what + ": '" + r.name +
                        "' is not a host name (letters, digits, '-', '.', '_', at most 63)");
    }
  }
  return r;
}

bool DhcpOptions::knows(std::string_view key) {
  return find_key(key) != nullptr;
}

void DhcpOptions::set(std::string_view key, std::string_view value) {
  const Key* k = find_key(key);
  if (!k) throw ConfigError("dhcp: unknown key '" + std::string(key) + "'");
  k->set(*this, key, value);
  range_given_ |= key == "range";
  netmask_given_ |= key == "netmask";
}

const Reservation* DhcpOptions::reservation_of(MacAddr mac) const {
  for (const Reservation& r : hosts) {
    if (r.mac == mac) return &r;
  }
  return nullptr;
}

const Reservation* DhcpOptions::reservation_at(uint32_t a) const {
  for (const Reservation& r : hosts) {
    if (r.address == a) return &r;
  }
  return nullptr;
}

void DhcpOptions::finish() {
  if (!range_given_) throw ConfigError("dhcp: give the addresses to hand out, range=START-END");
  const std::string range_text = "range=" + ipv4_string(first) + "-" + ipv4_string(last);
  if (first > last) throw ConfigError(range_text + ": the start is after the end");
  if (!netmask_given_) netmask = 0xffffff00;
  const std::string subnet =
      ipv4_string(network()) + "/" + std::to_string(__builtin_popcount(netmask));
  // A host address of the subnet: neither the network's own address nor its broadcast.
  auto check_host = [&](const std::string& what, uint32_t a) {
    if (!in_subnet(a)) throw ConfigError(what + " is outside the subnet " + subnet);
    if (a == network() || a == broadcast()) {
      throw ConfigError(what + " is not a host address of " + subnet);
    }
  };
  check_host(range_text + ": the start", first);
  check_host(range_text + ": the end", last);
  if (uint64_t{last} - first + 1 > kMaxRange) {
    throw ConfigError(range_text + ": at most " + std::to_string(kMaxRange) + " addresses");
  }
  if (router != 0) {
    check_host("router=" + ipv4_string(router), router);
    if (in_range(router))
      throw ConfigError("router=" + ipv4_string(router) + " is in " + range_text);
  }
  for (uint32_t d : dns) {
    if (in_range(d)) throw ConfigError("dns=" + ipv4_string(d) + " is in " + range_text);
  }
  for (uint32_t t : taken) {
    if (in_range(t)) throw ConfigError("taken=" + ipv4_string(t) + " is in " + range_text);
  }
  for (size_t i = 0; i < hosts.size(); ++i) {
    const Reservation& r = hosts[i];
    const std::string what = "host=" + r.mac.str() + "," + ipv4_string(r.address);
    check_host(what + ": the address", r.address);
    if (r.address == router) throw ConfigError(what + ": that is the router's address");
    if (std::find(taken.begin(), taken.end(), r.address) != taken.end()) {
      throw ConfigError(what + ": that address is taken=");
    }
    for (size_t j = 0; j < i; ++j) {
      if (hosts[j].mac == r.mac) throw ConfigError(what + ": that MAC has a reservation already");
      if (hosts[j].address == r.address) {
        throw ConfigError(what + ": that address is reserved for " + hosts[j].mac.str());
      }
    }
  }
  auto in_use = [&](uint32_t a) {
    return in_range(a) || a == router || reservation_at(a) != nullptr ||
           std::find(dns.begin(), dns.end(), a) != dns.end() ||
           std::find(taken.begin(), taken.end(), a) != taken.end();
  };
  if (server == 0) {
    for (uint32_t a = broadcast() - 1; a > network(); --a) {
      if (!in_use(a)) {
        server = a;
        break;
      }
    }
    if (server == 0) {
      throw ConfigError("dhcp: no address of " + subnet +
                        " is left for the server itself; shrink the range or give server=");
    }
  } else {
    const std::string what = "server=" + ipv4_string(server);
    check_host(what, server);
    if (in_use(server)) {
      throw ConfigError(what +
                        " is taken (the range, the router, a DNS server, a reservation or taken=)");
    }
  }
}

}  // namespace vswitch::plugs::dhcp
