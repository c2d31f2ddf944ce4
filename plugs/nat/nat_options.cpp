#include "nat/nat_options.hpp"

#include <arpa/inet.h>

#include "common/option_values.hpp"
#include "vswitch/error.hpp"

namespace vswitch::plugs::nat {

namespace {

// libslirp's DHCP server hands out this many addresses from dhcpstart on.
constexpr uint32_t kDhcpAddresses = 16;

// QEMU's rule for net= without a mask: the address's class, or the private range it is in.
uint32_t classful_mask(uint32_t addr) {
  struct Range {
    uint32_t mask_of_range, range, netmask;
  };
  static constexpr Range kRanges[] = {
      {0x80000000, 0x00000000, 0xff000000},  // class A
      {0xfff00000, 0xac100000, 0xfff00000},  // 172.16.0.0/12
      {0xc0000000, 0x80000000, 0xffff0000},  // class B
      {0xffff0000, 0xc0a80000, 0xffff0000},  // 192.168.0.0/16
      {0xffff0000, 0xc6120000, 0xfffe0000},  // 198.18.0.0/15
      {0xe0000000, 0xe0000000, 0xffffff00},
  };
  for (const Range& r : kRanges) {
    if ((addr & r.mask_of_range) == r.range) return r.netmask;
  }
  return 0xfffffff0;
}

// net=ADDR[/BITS|/MASK]
void parse_net(std::string_view text, in_addr& network, in_addr& netmask) {
  const size_t slash = text.find('/');
  const uint32_t addr = host_order(parse_ipv4("net", text.substr(0, slash)));
  uint32_t mask;
  if (slash == std::string_view::npos) {
    mask = classful_mask(addr);
  } else if (text.find('.', slash) != std::string_view::npos) {
    mask = host_order(parse_ipv4("net", text.substr(slash + 1)));
    if (!is_netmask(mask)) throw ConfigError("net=" + std::string(text) + ": not a netmask");
  } else {
    const uint32_t bits = parse_number("net", text.substr(slash + 1), 1, 30);
    mask = ~uint32_t{0} << (32 - bits);
  }
  if (addr & ~mask) {
    throw ConfigError("net=" + std::string(text) + ": the address has bits outside the mask");
  }
  network = from_host_order(addr);
  netmask = from_host_order(mask);
}

using Setter = void (*)(NatOptions&, std::string_view key, std::string_view value);

struct Key {
  std::string_view name;
  Setter set;
};

const Key kKeys[] = {
    {"net", [](NatOptions& o, std::string_view,
               std::string_view v) { parse_net(v, o.network, o.netmask); }},
    {"host",
     [](NatOptions& o, std::string_view k, std::string_view v) { o.host = parse_ipv4(k, v); }},
    {"dhcpstart", [](NatOptions& o, std::string_view k,
                     std::string_view v) { o.dhcp_start = parse_ipv4(k, v); }},
    {"dns",
     [](NatOptions& o, std::string_view k, std::string_view v) { o.dns = parse_ipv4(k, v); }},
    {"restrict", [](NatOptions& o, std::string_view k,
                    std::string_view v) { o.restricted = parse_on_off(k, v); }},
    {"ipv6",
     [](NatOptions& o, std::string_view k, std::string_view v) { o.ipv6 = parse_on_off(k, v); }},
    {"ipv6-net",
     [](NatOptions& o, std::string_view k, std::string_view v) {
       const size_t slash = v.find('/');
       o.prefix6 = parse_ipv6(k, v.substr(0, slash));
       if (slash != std::string_view::npos) {
         o.prefix6_len = static_cast<uint8_t>(parse_number(k, v.substr(slash + 1), 1, 126));
       }
     }},
    {"ipv6-host",
     [](NatOptions& o, std::string_view k, std::string_view v) { o.host6 = parse_ipv6(k, v); }},
    {"ipv6-dns",
     [](NatOptions& o, std::string_view k, std::string_view v) { o.dns6 = parse_ipv6(k, v); }},
    {"hostname", [](NatOptions& o, std::string_view, std::string_view v) { o.hostname = v; }},
    {"domainname", [](NatOptions& o, std::string_view, std::string_view v) { o.domainname = v; }},
    {"dnssearch",
     [](NatOptions& o, std::string_view, std::string_view v) { o.dnssearch.emplace_back(v); }},
    {"tftp", [](NatOptions& o, std::string_view, std::string_view v) { o.tftp = v; }},
    {"bootfile", [](NatOptions& o, std::string_view, std::string_view v) { o.bootfile = v; }},
    {"hostfwd", [](NatOptions& o, std::string_view,
                   std::string_view v) { o.forwards.push_back(HostForward::parse(v)); }},
};

const Key* find_key(std::string_view name) {
  for (const Key& k : kKeys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

// "[addr]:port", the two halves of a hostfwd rule.
void parse_endpoint(std::string_view part, in_addr& addr, uint16_t& port) {
  const size_t colon = part.rfind(':');
  if (colon == std::string_view::npos) {
    throw ConfigError("use [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport");
  }
  addr = colon == 0 ? in_addr{} : parse_ipv4("address", part.substr(0, colon));
  port = static_cast<uint16_t>(parse_number("port", part.substr(colon + 1), 1, 65535));
}

bool in_net(in_addr a, in_addr net, in_addr mask) {
  return (a.s_addr & mask.s_addr) == net.s_addr;
}

}  // namespace

HostForward HostForward::parse(std::string_view rule) {
  HostForward f;
  const size_t first = rule.find(':');
  const size_t dash = rule.find('-');
  if (first == std::string_view::npos || dash == std::string_view::npos || dash < first) {
    throw ConfigError("hostfwd=" + std::string(rule) +
                      ": use [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport");
  }
  const std::string_view proto = rule.substr(0, first);
  if (proto == "udp") {
    f.udp = true;
  } else if (!proto.empty() && proto != "tcp") {
    throw ConfigError("hostfwd=" + std::string(rule) + ": the protocol is tcp or udp");
  }
  try {
    parse_endpoint(rule.substr(first + 1, dash - first - 1), f.host_addr, f.host_port);
    parse_endpoint(rule.substr(dash + 1), f.guest_addr, f.guest_port);
  } catch (const ConfigError& e) {
    throw ConfigError("hostfwd=" + std::string(rule) + ": " + e.what());
  }
  return f;
}

std::string HostForward::str() const {
  auto addr = [](in_addr a) { return a.s_addr == 0 ? std::string() : to_string(a); };
  return std::string(udp ? "udp" : "tcp") + ":" + addr(host_addr) + ":" +
         std::to_string(host_port) + "-" + addr(guest_addr) + ":" + std::to_string(guest_port);
}

NatOptions::NatOptions() {
  parse_net("10.0.2.0/24", network, netmask);
  inet_pton(AF_INET6, "fec0::", &prefix6);
}

bool NatOptions::knows(std::string_view key) {
  return find_key(key) != nullptr;
}

void NatOptions::set(std::string_view key, std::string_view value) {
  const Key* k = find_key(key);
  if (!k) throw ConfigError("nat: unknown key '" + std::string(key) + "'");
  k->set(*this, key, value);
  host_given_ |= key == "host";
  dhcp_given_ |= key == "dhcpstart";
  dns_given_ |= key == "dns";
  host6_given_ |= key == "ipv6-host";
  dns6_given_ |= key == "ipv6-dns";
}

void NatOptions::finish() {
  const uint32_t net = host_order(network);
  const uint32_t mask = host_order(netmask);
  const uint32_t broadcast = net | ~mask;
  if (!host_given_) host = from_host_order(net | 2);
  if (!dns_given_) dns = from_host_order(net | 3);
  if (!dhcp_given_) dhcp_start = from_host_order(net | 15);
  const std::string net_text = "net=" + net_string(network, netmask);
  for (auto [key, a] : {std::pair{"host", host}, {"dns", dns}, {"dhcpstart", dhcp_start}}) {
    const uint32_t v = host_order(a);
    if (!in_net(a, network, netmask) || v == net || v == broadcast) {
      throw ConfigError(std::string(key) + "=" + to_string(a) + " is not a host address of " +
                        net_text);
    }
  }
  const uint32_t first = host_order(dhcp_start);
  if (broadcast - first < kDhcpAddresses) {
    throw ConfigError("dhcpstart=" + to_string(dhcp_start) + " leaves fewer than " +
                      std::to_string(kDhcpAddresses) + " addresses in " + net_text);
  }
  for (auto [key, a] : {std::pair{"host", host}, {"dns", dns}}) {
    const uint32_t v = host_order(a);
    if (v >= first && v < first + kDhcpAddresses) {
      throw ConfigError(std::string(key) + "=" + to_string(a) + " is inside the DHCP range " +
                        to_string(dhcp_start) + "-" +
                        to_string(from_host_order(first + kDhcpAddresses - 1)));
    }
  }
  for (const HostForward& f : forwards) {
    if (f.guest_addr.s_addr != 0 && !in_net(f.guest_addr, network, netmask)) {
      throw ConfigError("hostfwd=" + f.str() + ": the guest address is not in " + net_text);
    }
  }
  if (ipv6) {
    // QEMU's defaults in the prefix: the host ::2, the DNS server ::3.
    auto in_prefix = [&](uint8_t last) {
      in6_addr a = prefix6;
      a.s6_addr[15] = last;
      return a;
    };
    if (!host6_given_) host6 = in_prefix(2);
    if (!dns6_given_) dns6 = in_prefix(3);
  }
}

}  // namespace vswitch::plugs::nat
