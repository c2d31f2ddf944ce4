#include "common/netlink.hpp"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/fd.hpp"
#include "vswitch/error.hpp"

namespace vswitch::plugs::netlink {

namespace {

// One request, built in place: a header, a body, then attributes.
struct Request {
  alignas(NLMSG_ALIGNTO) char buf[512] = {};
  nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf); }

  template <typename Body>
  Body* start(uint16_t type, uint16_t flags) {
    hdr()->nlmsg_len = NLMSG_LENGTH(sizeof(Body));
    hdr()->nlmsg_type = type;
    hdr()->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
    return reinterpret_cast<Body*>(NLMSG_DATA(hdr()));
  }
  void attribute(uint16_t type, const void* data, size_t len) {
    auto* a = reinterpret_cast<rtattr*>(buf + NLMSG_ALIGN(hdr()->nlmsg_len));
    a->rta_type = type;
    a->rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    std::memcpy(RTA_DATA(a), data, len);
    hdr()->nlmsg_len = NLMSG_ALIGN(hdr()->nlmsg_len) + RTA_ALIGN(a->rta_len);
  }
};

// Sends the request and waits for the kernel's acknowledgement.
int transact(Request& r) {
  const Fd s(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!s) return errno;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(s.get(), r.buf, r.hdr()->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
             sizeof kernel) < 0) {
    return errno;
  }
  alignas(NLMSG_ALIGNTO) char reply[1024];
  const ssize_t n = recv(s.get(), reply, sizeof reply, 0);
  if (n < 0) return errno;
  const auto* h = reinterpret_cast<const nlmsghdr*>(reply);
  if (!NLMSG_OK(h, static_cast<unsigned>(n)) || h->nlmsg_type != NLMSG_ERROR) return EPROTO;
  return -static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
}

int change_link(int ifindex, unsigned flags, unsigned change, const uint32_t* mtu) {
  Request r;
  auto* info = r.start<ifinfomsg>(RTM_NEWLINK, 0);
  info->ifi_family = AF_UNSPEC;
  info->ifi_index = ifindex;
  info->ifi_flags = flags;
  info->ifi_change = change;
  if (mtu) r.attribute(IFLA_MTU, mtu, sizeof *mtu);
  return transact(r);
}

}  // namespace

Cidr Cidr::parse(const std::string& key, const std::string& text) {
  Cidr c;
  const size_t slash = text.find('/');
  const std::string addr = text.substr(0, slash);
  if (inet_pton(AF_INET, addr.c_str(), &c.addr) == 1) {
    c.family = AF_INET;
  } else if (inet_pton(AF_INET6, addr.c_str(), &c.addr) == 1) {
    c.family = AF_INET6;
  } else {
    throw ConfigError(key + "=" + text + ": not an address with a prefix, like 192.168.100.1/24");
  }
  const unsigned max = c.family == AF_INET ? 32 : 128;
  unsigned prefix = max;
  if (slash != std::string::npos) {
    const char* p = text.data() + slash + 1;
    auto [end, ec] = std::from_chars(p, text.data() + text.size(), prefix);
    if (ec != std::errc{} || end != text.data() + text.size() || prefix == 0 || prefix > max) {
      throw ConfigError(key + "=" + text + ": the prefix is 1-" + std::to_string(max));
    }
  }
  c.prefix = static_cast<uint8_t>(prefix);
  return c;
}

std::string Cidr::str() const {
  char text[INET6_ADDRSTRLEN];
  inet_ntop(family, &addr, text, sizeof text);
  return std::string(text) + "/" + std::to_string(prefix);
}

int set_link_up(int ifindex) {
  return change_link(ifindex, IFF_UP, IFF_UP, nullptr);
}

int set_mtu(int ifindex, uint32_t mtu) {
  return change_link(ifindex, 0, 0, &mtu);
}

int add_address(int ifindex, const Cidr& cidr) {
  Request r;
  auto* a = r.start<ifaddrmsg>(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
  a->ifa_family = static_cast<uint8_t>(cidr.family);
  a->ifa_prefixlen = cidr.prefix;
  a->ifa_index = static_cast<unsigned>(ifindex);
  const size_t len = cidr.family == AF_INET ? 4 : 16;
  r.attribute(IFA_LOCAL, &cidr.addr, len);
  r.attribute(IFA_ADDRESS, &cidr.addr, len);
  return transact(r);
}

Fd link_events() {
  Fd s(socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!s) return s;
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = RTMGRP_LINK;
  if (bind(s.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) s.reset();
  return s;
}

LinkNews read_link_news(int fd, int ifindex) {
  LinkNews news = LinkNews::none;
  alignas(NLMSG_ALIGNTO) char buf[8192];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    // ENOBUFS too: news was lost while nobody read; the caller then looks for itself.
    if (n <= 0) return news;
    // Walked by offsets and copied out: NLMSG_NEXT's casts trip -Wcast-align under clang.
    const auto len = static_cast<size_t>(n);
    for (size_t off = 0; off + NLMSG_HDRLEN <= len;) {
      nlmsghdr h;
      std::memcpy(&h, buf + off, sizeof h);
      if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len - off) break;
      ifinfomsg info;
      if ((h.nlmsg_type == RTM_NEWLINK || h.nlmsg_type == RTM_DELLINK) &&
          h.nlmsg_len >= NLMSG_LENGTH(sizeof info)) {
        std::memcpy(&info, buf + off + NLMSG_HDRLEN, sizeof info);
        if (info.ifi_index == ifindex) {
          if (h.nlmsg_type == RTM_DELLINK) {
            news = LinkNews::gone;
          } else {
            news = (info.ifi_flags & IFF_UP) ? LinkNews::up : LinkNews::down;
          }
        }
      }
      off += NLMSG_ALIGN(h.nlmsg_len);
    }
  }
}

}  // namespace vswitch::plugs::netlink
