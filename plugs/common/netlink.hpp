// The few rtnetlink requests a plug needs to set up an interface it made (a host tap): its
// link up, its MTU, an address; and the kernel's news of links going down, up or away. No
// shelling out to ip(8).
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>

#include "common/fd.hpp"

namespace vswitch::plugs::netlink {

// "192.168.100.1/24" or "fd00::1/64"; throws ConfigError naming `key` when it is neither.
struct Cidr {
  int family = AF_INET;
  in6_addr addr{};  // the first 4 bytes for IPv4
  uint8_t prefix = 0;
  static Cidr parse(const std::string& key, const std::string& text);
  std::string str() const;
};

// Each returns 0 or the errno of the kernel's refusal.
int set_link_up(int ifindex);
int set_mtu(int ifindex, uint32_t mtu);
int add_address(int ifindex, const Cidr& cidr);

// A non-blocking socket that hears of every link's changes (RTMGRP_LINK); empty on failure.
Fd link_events();
enum class LinkNews : uint8_t { none, up, down, gone };
// Reads every message waiting on a link_events() socket; what the last of them said of
// `ifindex`, none when none was about it.
LinkNews read_link_news(int fd, int ifindex);

}  // namespace vswitch::plugs::netlink
