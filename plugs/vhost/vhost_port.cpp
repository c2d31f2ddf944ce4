#include "vhost/vhost_port.hpp"

#include <fcntl.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_vhost.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>

#include "common/unix_socket.hpp"
#include "vhost/vhost_devices.hpp"
#include "vswitch/error.hpp"
#include "vswitch/log.hpp"

namespace vswitch::plugs::vhost {

namespace {

// The virtio feature bits named here (the virtio spec's numbers; the kernel's headers that
// define them are C only).
enum Feature : int {
  csum = 0,
  guest_csum = 1,
  mtu = 3,
  guest_tso4 = 7,
  guest_tso6 = 8,
  guest_ecn = 9,
  guest_ufo = 10,
  host_tso4 = 11,
  host_tso6 = 12,
  host_ecn = 13,
  host_ufo = 14,
  mrg_rxbuf = 15,
  status = 16,
  ctrl_vq = 17,
  guest_announce = 21,
  mq = 22,
  indirect_desc = 28,
  event_idx = 29,
  version_1 = 32,
  ring_packed = 34,
};

constexpr uint64_t bits(std::initializer_list<Feature> features) {
  uint64_t b = 0;
  for (Feature f : features)
    b |= 1ULL << f;
  return b;
}

// Offloads would hand the switch 64 KB segments and frames with checksums left to do, which no
// other port could carry: the guest does them itself, as behind any VDE or socket port.
// A guest whose QEMU could not share its memory stays connected with no device (QEMU says
// "Failed initializing vhost-user memory map" and falls back to a dead userspace NIC); after
// this long the port says what to check. A guest still booting may take a while, hence long.
constexpr auto kUnreadyFor = std::chrono::seconds(30);

constexpr uint64_t kOffloads = bits({csum, guest_csum, guest_tso4, guest_tso6, guest_ecn, guest_ufo,
                                     host_tso4, host_tso6, host_ecn, host_ufo});

struct FeatureName {
  int bit;
  const char* name;
};
constexpr FeatureName kFeatureNames[] = {
    {version_1, "version_1"},
    {ring_packed, "packed"},
    {mrg_rxbuf, "mrg_rxbuf"},
    {mq, "mq"},
    {event_idx, "event_idx"},
    {indirect_desc, "indirect_desc"},
    {ctrl_vq, "ctrl_vq"},
    {status, "status"},
    {mtu, "mtu"},
    {guest_announce, "guest_announce"},
};

std::string feature_names(uint64_t features) {
  std::string out;
  for (const FeatureName& f : kFeatureNames) {
    if (features & (1ULL << f.bit)) out += (out.empty() ? "" : " ") + std::string(f.name);
  }
  return out;
}

void epoll_add(int epoll, int fd) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev);
}

// A socket file a dead server left where the library must bind.
void reclaim_stale_socket(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return;
  if (!S_ISSOCK(st.st_mode)) {
    throw ConfigError("vhost-user " + path + ": the path exists and is not a socket");
  }
  if (unix_socket_alive(path)) {
    throw ConfigError("vhost-user " + path + ": a server is already listening there");
  }
  ::unlink(path.c_str());
}

}  // namespace

VhostPort::VhostPort(PortSettings settings, VhostOptions options)
    : Port(std::move(settings)), options_(std::move(options)) {}

std::unique_ptr<VhostPort> VhostPort::open(PortSettings settings, VhostOptions options) {
  if (options.path.empty()) throw ConfigError("a vhost-user port needs path=SOCKET");
  if (options.path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    throw ConfigError("vhost-user path=" + options.path + ": longer than a socket path may be");
  }
  std::unique_ptr<VhostPort> p(new VhostPort(std::move(settings), std::move(options)));
  p->start();
  return p;
}

void VhostPort::start() {
  const std::string& path = options_.path;
  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  event_fd_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  timer_fd_.reset(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!epoll_ || !event_fd_ || !timer_fd_) {
    throw ConfigError("vhost-user " + path + ": " + std::strerror(errno));
  }
  epoll_add(epoll_.get(), event_fd_.get());
  epoll_add(epoll_.get(), timer_fd_.get());
  if (options_.server) reclaim_stale_socket(path);
  if (rte_vhost_driver_register(path.c_str(), options_.server ? 0 : RTE_VHOST_USER_CLIENT) != 0) {
    throw ConfigError("vhost-user " + path +
                      ": the vhost library refused the socket (another port has it?)");
  }
  registered_ = true;
  add_port(path, this);
  if (rte_vhost_driver_disable_features(path.c_str(), kOffloads) != 0 ||
      rte_vhost_driver_callback_register(path.c_str(), device_ops()) != 0 ||
      rte_vhost_driver_start(path.c_str()) != 0) {
    throw ConfigError("vhost-user " + path + ": cannot " +
                      (options_.server ? "listen there" : "start connecting there"));
  }
  log(LogLevel::info, "vhost-user port %s: %s %s", name().c_str(),
      options_.server ? "listening on" : "connecting to", path.c_str());
}

VhostPort::~VhostPort() {
  if (registered_) {
    // Destroys a connected device through release_device(), on this thread.
    rte_vhost_driver_unregister(options_.path.c_str());
    remove_port(options_.path);
  }
}

// ---- the library's thread ---------------------------------------------------------------------

void VhostPort::tell(News news, int vid, uint16_t queue) {
  {
    std::lock_guard lock(news_mu_);
    pending_.push_back({news, vid, queue});
    news_.store(true, std::memory_order_release);
  }
  self_wake();
}

void VhostPort::release_device(int vid) {
  int expected = vid;
  if (!active_vid_.compare_exchange_strong(expected, -1)) return;
  // Dekker's handshake with enter(): either the datapath saw -1, or we see its burst and wait.
  while (in_burst_.load())
    rte_pause();
}

// ---- the engine's thread ----------------------------------------------------------------------

namespace {

// The datapath's hold on the device: -1 when there is none to use.
class DeviceUse {
 public:
  DeviceUse(std::atomic<bool>& in_burst, const std::atomic<int>& active) : in_burst_(in_burst) {
    in_burst_.store(true);
    vid_ = active.load();
    if (vid_ < 0) in_burst_.store(false, std::memory_order_release);
  }
  ~DeviceUse() {
    if (vid_ >= 0) in_burst_.store(false, std::memory_order_release);
  }
  DeviceUse(const DeviceUse&) = delete;
  DeviceUse& operator=(const DeviceUse&) = delete;
  int vid() const { return vid_; }

 private:
  std::atomic<bool>& in_burst_;
  int vid_;
};

}  // namespace

uint16_t VhostPort::receive(rte_mbuf** burst, uint16_t max) {
  if (news_.load(std::memory_order_acquire)) apply_events();
  if (connection_ >= 0 && std::chrono::steady_clock::now() >= unready_deadline_) {
    report_unready_guest();
  }
  const DeviceUse use(in_burst_, active_vid_);
  if (use.vid() < 0) return 0;
  uint16_t got = 0;
  const size_t queues = tx_vrings_.size();
  for (size_t i = 0; i < queues && got < max; ++i) {
    if (next_vring_ >= queues) next_vring_ = 0;
    const uint16_t vring = tx_vrings_[next_vring_++];
    got += rte_vhost_dequeue_burst(use.vid(), vring, options_.pool, burst + got,
                                   static_cast<uint16_t>(max - got));
  }
  return got;
}

uint16_t VhostPort::transmit(rte_mbuf** burst, uint16_t n) {
  uint16_t sent = 0;
  bool device = false;
  {
    const DeviceUse use(in_burst_, active_vid_);
    if (use.vid() >= 0 && rx_vring_ >= 0) {
      device = true;
      sent = rte_vhost_enqueue_burst(use.vid(), static_cast<uint16_t>(rx_vring_), burst, n);
    }
  }
  if (sent < n) counters().drop(device ? DropReason::tx_full : DropReason::tx_error, n - sent);
  rte_pktmbuf_free_bulk(burst, n);  // the library copied what it took
  return sent;
}

void VhostPort::arm_wakeup() {
  drain(event_fd_.get());
  drain(timer_fd_.get());
  bool waiting = false;
  {
    const DeviceUse use(in_burst_, active_vid_);
    if (use.vid() < 0) return;
    for (size_t i = 0; i < tx_vrings_.size(); ++i) {
      drain(kicks_[tx_vrings_[i] / 2].get());
      rte_vhost_enable_guest_notification(use.vid(), tx_vrings_[i], 1);
    }
    // A frame queued before the guest saw notifications on would never kick.
    for (uint16_t vring : tx_vrings_)
      waiting |= rte_vhost_rx_queue_count(use.vid(), vring) > 0;
  }
  if (waiting) self_wake();
}

void VhostPort::disarm_wakeup() {
  const DeviceUse use(in_burst_, active_vid_);
  if (use.vid() < 0) return;
  for (uint16_t vring : tx_vrings_) {
    rte_vhost_enable_guest_notification(use.vid(), vring, 0);
    drain(kicks_[vring / 2].get());
  }
}

void VhostPort::apply_events() {
  std::vector<Event> events;
  {
    std::lock_guard lock(news_mu_);
    events.swap(pending_);
    news_.store(false, std::memory_order_relaxed);
  }
  for (const Event& e : events)
    apply(e);
}

void VhostPort::apply(const Event& e) {
  switch (e.news) {
    case News::connected:
      connection_ = e.vid;
      watch_connection(true);
      log(LogLevel::info, "vhost-user port %s: a guest connected on %s", name().c_str(),
          options_.path.c_str());
      break;
    case News::queue_on:
    case News::queue_off:
      if (e.queue < enabled_.size()) enabled_[e.queue] = e.news == News::queue_on;
      if (e.vid == vid_) refresh_vrings();
      break;
    case News::device_up:
      device_up(e.vid);
      break;
    case News::device_down:
      if (e.vid == vid_) device_down();
      break;
    case News::gone:
      if (e.vid == vid_) device_down();
      if (e.vid == connection_) watch_connection(false);
      enabled_.fill(false);
      log(LogLevel::info, "vhost-user port %s: the guest left %s", name().c_str(),
          options_.path.c_str());
      break;
  }
}

void VhostPort::device_up(int vid) {
  vid_ = vid;
  watch_connection(false);
  features_ = 0;
  rte_vhost_get_negotiated_features(vid, &features_);
  guest_mtu_ = 0;
  rte_vhost_get_mtu(vid, &guest_mtu_);
  refresh_vrings();
  ++connections_;
  active_vid_.store(vid);
  log(LogLevel::info, "vhost-user port %s: the guest's device is up (%zu queue pairs; %s)",
      name().c_str(), tx_vrings_.size(), feature_names(features_).c_str());
}

void VhostPort::device_down() {
  active_vid_.store(-1);  // released already, unless the library is gone with it
  vid_ = -1;
  for (Fd& k : kicks_) {
    if (k) epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, k.get(), nullptr);
    k.reset();
  }
  tx_vrings_.clear();
  rx_vring_ = -1;
  ++disconnections_;
  log(LogLevel::info, "vhost-user port %s: the guest's device is down", name().c_str());
}

// The queues the datapath serves, and the kicks that wake it, after the guest changed them.
void VhostPort::refresh_vrings() {
  tx_vrings_.clear();
  rx_vring_ = -1;
  for (uint16_t pair = 0; pair < kMaxQueuePairs; ++pair) {
    const auto rx = static_cast<uint16_t>(2 * pair), tx = static_cast<uint16_t>(rx + 1);
    if (enabled_[rx] && rx_vring_ < 0) rx_vring_ = rx;
    Fd& kick = kicks_[pair];
    if (kick) epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, kick.get(), nullptr);
    kick.reset();
    if (!enabled_[tx]) continue;
    tx_vrings_.push_back(tx);
    // Polling while awake: the guest need not kick until the engine sleeps (arm_wakeup).
    rte_vhost_enable_guest_notification(vid_, tx, 0);
    rte_vhost_vring vring{};
    if (rte_vhost_get_vhost_vring(vid_, tx, &vring) == 0 && vring.kickfd >= 0) {
      kick.reset(fcntl(vring.kickfd, F_DUPFD_CLOEXEC, 0));
      if (kick) epoll_add(epoll_.get(), kick.get());
    }
  }
  next_vring_ = 0;
}

void VhostPort::watch_connection(bool on) {
  itimerspec t{};
  if (on) {
    unready_deadline_ = std::chrono::steady_clock::now() + kUnreadyFor;
    t.it_value.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(kUnreadyFor).count();
  } else {
    connection_ = -1;
  }
  timerfd_settime(timer_fd_.get(), 0, &t, nullptr);
}

void VhostPort::report_unready_guest() {
  log(LogLevel::warn,
      "vhost-user port %s: the guest on %s connected %lld s ago and has not started its NIC; "
      "if its QEMU said \"Failed initializing vhost-user memory map\", its memory is not "
      "shared: -object memory-backend-memfd,id=mem,size=SIZE,share=on -numa node,memdev=mem "
      "(and under TCG, vectors=0 on the device)",
      name().c_str(), options_.path.c_str(),
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::seconds>(kUnreadyFor).count()));
  watch_connection(false);  // said once per connection
}

void VhostPort::drain(int fd) {
  if (fd < 0) return;
  uint64_t v;
  while (::read(fd, &v, sizeof v) == static_cast<ssize_t>(sizeof v)) {
  }
}

void VhostPort::self_wake() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(event_fd_.get(), &one, sizeof one);
}

std::vector<std::pair<std::string, std::string>> VhostPort::details() const {
  std::vector<std::pair<std::string, std::string>> d;
  d.emplace_back("path", options_.path);
  d.emplace_back("mode", options_.server ? "server" : "client");
  d.emplace_back("link", vid_ >= 0 && rx_vring_ >= 0 ? "up" : "down");
  if (vid_ >= 0) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(features_));
    d.emplace_back("features", hex);
    d.emplace_back("negotiated", feature_names(features_));
    d.emplace_back("queue_pairs", std::to_string(tx_vrings_.size()));
    if (guest_mtu_ != 0) d.emplace_back("guest_mtu", std::to_string(guest_mtu_));
  }
  d.emplace_back("connections", std::to_string(connections_));
  d.emplace_back("disconnections", std::to_string(disconnections_));
  return d;
}

}  // namespace vswitch::plugs::vhost
