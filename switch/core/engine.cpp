#include "vswitch/engine.hpp"

#include <rte_mbuf.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "vswitch/clock.hpp"
#include "vswitch/log.hpp"

namespace vswitch {

namespace {

// Control-plane handlers run on the datapath's thread: one that throws is a bug in it, which is
// logged while the switch goes on forwarding.
template <typename Fn>
void guarded(const char* what, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    log(LogLevel::error, "%s failed: %s", what, e.what());
  }
}

}  // namespace

Engine::Engine(EngineOptions options) : options_(options), sleep_ms_(options.poll_sleep_ms) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    throw std::system_error(errno, std::generic_category(), "engine: epoll/eventfd");
  }
  watch(wake_fd_, EPOLLIN, [this](uint32_t) {
    uint64_t v;
    [[maybe_unused]] ssize_t r = ::read(wake_fd_, &v, sizeof v);
  });
  now_ms_ = monotonic_ms();
  every(1000, [this](uint64_t now) {
    for (auto& s : segments_)
      s->age(now);
  });
}

Engine::~Engine() {
  // Ports go before their segments' buffers are released, and before the epoll fd closes.
  for (auto& s : segments_) {
    std::vector<uint16_t> ids;
    s->for_each_port([&](uint16_t id, Port&) { ids.push_back(id); });
    for (uint16_t id : ids)
      s->detach(id);
  }
  segments_.clear();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

Segment& Engine::add_segment(SegmentSettings settings) {
  if (segment(settings.name)) throw ConfigError("segment " + settings.name + " already exists");
  segments_.push_back(std::make_unique<Segment>(std::move(settings)));
  return *segments_.back();
}

void Engine::remove_segment(Segment& segment) {
  if (segment.port_count() > 0) throw ConfigError("segment " + segment.name() + " has ports");
  std::erase_if(segments_, [&](const auto& s) { return s.get() == &segment; });
}

Segment* Engine::segment(std::string_view name) const {
  for (auto& s : segments_) {
    if (s->name() == name) return s.get();
  }
  return nullptr;
}

Engine::PortRef Engine::attach(Segment& segment, std::unique_ptr<Port> port,
                               ClosedHandler on_closed) {
  if (find_port(port->name())) throw ConfigError("port " + port->name() + " already exists");
  Port* raw = port.get();
  const uint16_t id = segment.attach(std::move(port));
  auto a =
      std::make_unique<Attached>(Attached{raw, &segment, id, std::move(on_closed), raw->polled()});
  const int fd = raw->wait_fd();
  if (fd >= 0) {
    auto w = std::make_shared<Watch>();
    w->port = a.get();
    add_watch(fd, EPOLLIN, std::move(w));
  }
  if (a->polled) {
    ++polled_count_;
    if (fd < 0) ++polled_without_fd_;
  }
  ports_.push_back(std::move(a));
  return PortRef{&segment, id};
}

std::unique_ptr<Port> Engine::detach(Port& port) {
  auto it = std::find_if(ports_.begin(), ports_.end(), [&](auto& a) { return a->port == &port; });
  if (it == ports_.end()) return nullptr;
  const int fd = port.wait_fd();
  if (fd >= 0) unwatch(fd);
  if ((*it)->polled) {
    --polled_count_;
    if (fd < 0) --polled_without_fd_;
  }
  Segment* seg = (*it)->segment;
  const uint16_t id = (*it)->id;
  ports_.erase(it);
  return seg->detach(id);
}

std::optional<Engine::PortRef> Engine::find_port(std::string_view name) const {
  for (auto& a : ports_) {
    if (a->port->name() == name) return PortRef{a->segment, a->id};
  }
  return std::nullopt;
}

void Engine::for_each_port(const std::function<void(Segment&, uint16_t, Port&)>& fn) const {
  for (auto& s : segments_) {
    s->for_each_port([&](uint16_t id, Port& p) { fn(*s, id, p); });
  }
}

void Engine::add_watch(int fd, uint32_t events, std::shared_ptr<Watch> w) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    throw std::system_error(errno, std::generic_category(), "engine: epoll_ctl add");
  }
  watches_[fd] = std::move(w);
}

void Engine::watch(int fd, uint32_t events, FdCallback cb) {
  auto w = std::make_shared<Watch>();
  w->cb = std::move(cb);
  add_watch(fd, events, std::move(w));
}

void Engine::modify(int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
}

void Engine::unwatch(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  watches_.erase(fd);
}

Engine::TimerId Engine::every(uint32_t period_ms, std::function<void(uint64_t)> fn) {
  const TimerId id = next_timer_++;
  timers_.push_back(Timer{id, period_ms, now_ms_ + period_ms, std::move(fn)});
  return id;
}

void Engine::cancel(TimerId id) {
  std::erase_if(timers_, [id](const Timer& t) { return t.id == id; });
}

void Engine::stop() {
  stop_.store(true, std::memory_order_relaxed);
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(wake_fd_, &one, sizeof one);
}

uint32_t Engine::take(Attached& a) {
  // Once a round: a port both ready and hot is not taken twice.
  if (a.served == stats_.rounds) return 0;
  a.served = stats_.rounds;
  rte_mbuf* burst[kBurst];
  const uint16_t n = a.port->receive(burst, kBurst);
  a.hot = n == kBurst;
  if (n > 0) a.segment->process(a.id, burst, n, now_ms_);
  return n;
}

int Engine::timeout_ms(bool frames_moved) {
  if (options_.idle == IdleMode::busy || frames_moved) return 0;
  // Polled ports are spun on for a while after the last frame. Socket ports are not: they wake
  // us when they have work, and spinning on them cost 2-5x the CPU per frame at partial load
  // for some 15 % more at full load (bench/RESULTS.md).
  if (polled_count_ > 0 && empty_rounds_ < options_.spin_rounds) return 0;
  uint64_t due = UINT64_MAX;
  for (const Timer& t : timers_)
    due = std::min(due, t.due_ms);
  int64_t wait = due == UINT64_MAX ? -1 : std::max<int64_t>(0, static_cast<int64_t>(due - now_ms_));
  if (polled_without_fd_ > 0 && (wait < 0 || wait > sleep_ms_)) wait = sleep_ms_;
  return static_cast<int>(wait);
}

void Engine::arm(bool on) {
  for (auto& a : ports_) {
    if (!a->polled || a->port->wait_fd() < 0) continue;
    if (on) {
      a->port->arm_wakeup();
    } else {
      a->port->disarm_wakeup();
    }
  }
}

void Engine::run_round() {
  ++stats_.rounds;
  const int timeout = timeout_ms(frames_moved_);
  const bool sleeping = timeout != 0;
  epoll_event events[64];
  int ready = 0;
  // Polled ports keep the engine busy; then readiness is asked for only now and then, not at
  // the cost of a system call every round.
  const bool ask = sleeping || polled_count_ == 0 || ++epoll_skips_ >= kEpollEvery;
  if (ask) {
    epoll_skips_ = 0;
    if (sleeping) {
      arm(true);
      ++stats_.sleeps;
    }
    ready = epoll_wait(epoll_fd_, events, 64, timeout);
    if (sleeping) arm(false);
  }
  now_ms_ = monotonic_ms();

  uint32_t got = 0;
  int control[64];
  int n_control = 0;
  for (int i = 0; i < ready; ++i) {
    auto it = watches_.find(events[i].data.fd);
    if (it == watches_.end()) continue;
    Watch& w = *it->second;
    if (w.port != nullptr) {
      if (!w.port->polled) got += take(*w.port);  // polled ones come next anyway
    } else {
      control[n_control++] = i;
    }
  }
  for (auto& a : ports_) {
    if (a->polled || a->hot) got += take(*a);
  }
  for (auto& s : segments_)
    s->flush();

  // The control plane after the frames: its callbacks may add and remove ports.
  for (int k = 0; k < n_control; ++k) {
    const epoll_event& ev = events[control[k]];
    auto it = watches_.find(ev.data.fd);
    if (it == watches_.end()) continue;
    const std::shared_ptr<Watch> w = it->second;  // the callback may unwatch its own fd
    if (w->cb) guarded("a control-plane handler", [&] { w->cb(ev.events); });
  }
  run_timers();
  reap_closed();

  stats_.frames += got;
  frames_moved_ = got > 0;
  if (got > 0) {
    empty_rounds_ = 0;
    sleep_ms_ = options_.poll_sleep_ms;
  } else {
    ++empty_rounds_;
    if (sleeping && timeout > 0) sleep_ms_ = std::min(sleep_ms_ * 2, options_.poll_sleep_max_ms);
  }
}

void Engine::run() {
  while (!stopping())
    run_round();
}

void Engine::run_timers() {
  for (size_t i = 0; i < timers_.size(); ++i) {
    if (timers_[i].due_ms > now_ms_) continue;
    timers_[i].due_ms = now_ms_ + timers_[i].period_ms;
    auto fn = timers_[i].fn;  // a timer may add or cancel timers
    guarded("a timer", [&] { fn(now_ms_); });
  }
}

void Engine::reap_closed() {
  for (size_t i = 0; i < ports_.size();) {
    Port& port = *ports_[i]->port;
    if (!port.closed()) {
      ++i;
      continue;
    }
    ClosedHandler handler = ports_[i]->on_closed;
    if (handler) {
      handler(port);
    } else {
      log(LogLevel::info, "port %s closed: %s", port.name().c_str(), port.close_reason().c_str());
      detach(port);
    }
    // The handler detached the port or brought it back; look at this index again only if it
    // still holds the same port, still closed.
    if (i < ports_.size() && ports_[i]->port == &port && port.closed()) ++i;
  }
}

}  // namespace vswitch
