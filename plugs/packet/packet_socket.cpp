#include "packet/packet_socket.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "vswitch/error.hpp"

namespace vswitch::plugs::packet {

namespace {

// The kernel puts a block's header and each frame's header and padding before the frame.
constexpr uint32_t kBlockHeader = 48;
constexpr uint32_t kFrameHeader = 96;

std::string own_path() {
  char path[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return "vswitchd";
  path[n] = '\0';
  return path;
}

}  // namespace

PacketSocket::PacketSocket(const PacketSocketOptions& o) {
  const std::string& name = o.ifname;
  const std::string what = "uplink " + name;
  if (name.empty() || name.size() >= IFNAMSIZ) {
    throw ConfigError("uplink: ifname= must be 1-" + std::to_string(IFNAMSIZ - 1) + " characters");
  }
  ifindex_ = static_cast<int>(if_nametoindex(name.c_str()));
  if (ifindex_ == 0) {
    throw ConfigError(what + ": no such interface in this network namespace (ip link lists them)");
  }
  // Protocol 0: nothing is queued before the ring is there; bind() below opens the tap.
  fd_.reset(socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_) {
    if (errno == EPERM || errno == EACCES) {
      throw ConfigError(what + ": an AF_PACKET socket needs CAP_NET_RAW: run vswitchd as root, " +
                        "or grant it once with: setcap cap_net_raw+ep " + own_path());
    }
    throw ConfigError(what + ": AF_PACKET socket: " + std::strerror(errno));
  }
  auto must = [&](int rc, const char* step) {
    if (rc != 0) throw ConfigError(what + ": " + step + ": " + std::strerror(errno));
  };

  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());
  must(ioctl(fd_.get(), SIOCGIFHWADDR, &ifr), "SIOCGIFHWADDR");
  if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
    throw ConfigError(what + ": not an Ethernet interface (link type " +
                      std::to_string(ifr.ifr_hwaddr.sa_family) + ")");
  }
  must(ioctl(fd_.get(), SIOCGIFMTU, &ifr), "SIOCGIFMTU");
  mtu_ = static_cast<uint32_t>(ifr.ifr_mtu);
  must(ioctl(fd_.get(), SIOCGIFFLAGS, &ifr), "SIOCGIFFLAGS");
  up_ = (ifr.ifr_flags & IFF_UP) != 0;

  const int v3 = TPACKET_V3;
  must(setsockopt(fd_.get(), SOL_PACKET, PACKET_VERSION, &v3, sizeof v3), "PACKET_VERSION");
  const RingGeometry& g = o.rings;
  tpacket_req3 rx{};
  rx.tp_block_size = g.rx_block_size;
  rx.tp_block_nr = g.rx_blocks;
  // V3 frames have any length within a block; the frame size only has to divide it.
  rx.tp_frame_size = 2048;
  rx.tp_frame_nr = g.rx_block_size / rx.tp_frame_size * g.rx_blocks;
  rx.tp_retire_blk_tov = g.retire_ms;
  must(setsockopt(fd_.get(), SOL_PACKET, PACKET_RX_RING, &rx, sizeof rx), "PACKET_RX_RING");
  map_size_ = static_cast<size_t>(g.rx_block_size) * g.rx_blocks;
  map_ = mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED | MAP_POPULATE,
              fd_.get(), 0);
  if (map_ == MAP_FAILED) {
    // Locked memory is a limit of its own (RLIMIT_MEMLOCK); the ring works unlocked too.
    map_ =
        mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_.get(), 0);
  }
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    throw ConfigError(what + ": mapping the ring: " + std::strerror(errno));
  }
  rx_ = RxRing(static_cast<uint8_t*>(map_), g.rx_block_size, g.rx_blocks);
  rx_frame_limit_ = g.rx_block_size - kBlockHeader - kFrameHeader;
  retire_ms_ = g.retire_ms;

  const int on = 1;
  must(setsockopt(fd_.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &on, sizeof on),
       "PACKET_IGNORE_OUTGOING");
  if (o.qdisc_bypass) {
    must(setsockopt(fd_.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &on, sizeof on),
         "PACKET_QDISC_BYPASS");
  }
  sockaddr_ll at{};
  at.sll_family = AF_PACKET;
  at.sll_protocol = htons(ETH_P_ALL);
  at.sll_ifindex = ifindex_;
  must(bind(fd_.get(), reinterpret_cast<sockaddr*>(&at), sizeof at), "bind");
  packet_mreq promisc{};
  promisc.mr_ifindex = ifindex_;
  promisc.mr_type = PACKET_MR_PROMISC;
  must(setsockopt(fd_.get(), SOL_PACKET, PACKET_ADD_MEMBERSHIP, &promisc, sizeof promisc),
       "PACKET_MR_PROMISC");
}

PacketSocket::~PacketSocket() {
  if (map_ != nullptr) munmap(map_, map_size_);
}

}  // namespace vswitch::plugs::packet
