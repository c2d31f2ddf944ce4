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
  const int fd = raw->wait_fd();
  if (fd >= 0) {
    watch(fd, EPOLLIN, {});
  } else {
    ++ports_without_fd_;
  }
  polled_.push_back(Polled{raw, &segment, id, std::move(on_closed)});
  return PortRef{&segment, id};
}

std::unique_ptr<Port> Engine::detach(Port& port) {
  auto it = std::find_if(polled_.begin(), polled_.end(),
                         [&](const Polled& p) { return p.port == &port; });
  if (it == polled_.end()) return nullptr;
  const int fd = port.wait_fd();
  if (fd >= 0) {
    unwatch(fd);
  } else {
    --ports_without_fd_;
  }
  Segment* seg = it->segment;
  const uint16_t id = it->id;
  polled_.erase(it);
  return seg->detach(id);
}

std::optional<Engine::PortRef> Engine::find_port(std::string_view name) const {
  for (const Polled& p : polled_) {
    if (p.port->name() == name) return PortRef{p.segment, p.id};
  }
  return std::nullopt;
}

void Engine::for_each_port(const std::function<void(Segment&, uint16_t, Port&)>& fn) const {
  for (auto& s : segments_) {
    s->for_each_port([&](uint16_t id, Port& p) { fn(*s, id, p); });
  }
}

void Engine::watch(int fd, uint32_t events, FdCallback cb) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    throw std::system_error(errno, std::generic_category(), "engine: epoll_ctl add");
  }
  watches_[fd] = std::make_shared<Watch>(Watch{std::move(cb)});
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

uint32_t Engine::poll_ports() {
  rte_mbuf* burst[kBurst];
  uint32_t got = 0;
  for (const Polled& p : polled_) {
    const uint16_t n = p.port->receive(burst, kBurst);
    if (n == 0) continue;
    got += n;
    p.segment->process(p.id, burst, n, now_ms_);
  }
  for (auto& s : segments_)
    s->flush();
  return got;
}

void Engine::run_round() {
  const uint32_t got = poll_ports();
  stats_.frames += got;
  ++stats_.rounds;
  now_ms_ = monotonic_ms();
  if (now_ms_ >= next_service_ms_) {
    service(0);
    next_service_ms_ = now_ms_ + options_.service_ms;
  }
  if (got > 0) {
    empty_rounds_ = 0;
    sleep_ms_ = options_.poll_sleep_ms;
  } else if (options_.idle == IdleMode::adaptive && ++empty_rounds_ >= options_.spin_rounds) {
    // Spinning pays only while frames flow: after a sleep that brought nothing, one empty
    // round sends the engine back to sleep.
    sleep();
    empty_rounds_ = options_.spin_rounds - 1;
  }
}

void Engine::run() {
  while (!stopping())
    run_round();
}

int Engine::next_timeout() const {
  uint64_t due = UINT64_MAX;
  for (const Timer& t : timers_)
    due = std::min(due, t.due_ms);
  int64_t wait = due == UINT64_MAX ? -1 : static_cast<int64_t>(due) - static_cast<int64_t>(now_ms_);
  if (wait < 0 && due != UINT64_MAX) wait = 0;
  if (ports_without_fd_ > 0 && (wait < 0 || wait > sleep_ms_)) wait = sleep_ms_;
  return static_cast<int>(wait);
}

void Engine::sleep() {
  for (const Polled& p : polled_) {
    if (p.port->wait_fd() >= 0) p.port->arm_wakeup();
  }
  ++stats_.sleeps;
  service(next_timeout());
  sleep_ms_ = std::min(sleep_ms_ * 2, options_.poll_sleep_max_ms);
  for (const Polled& p : polled_) {
    if (p.port->wait_fd() >= 0) p.port->disarm_wakeup();
  }
}

void Engine::service(int timeout_ms) {
  epoll_event events[64];
  const int n = epoll_wait(epoll_fd_, events, 64, timeout_ms);
  now_ms_ = monotonic_ms();
  for (int i = 0; i < n; ++i) {
    auto it = watches_.find(events[i].data.fd);
    if (it == watches_.end()) continue;
    // Hold the watch: the callback may unwatch its own fd.
    const std::shared_ptr<Watch> w = it->second;
    if (w->cb) w->cb(events[i].events);
  }
  run_timers();
  reap_closed();
}

void Engine::run_timers() {
  for (size_t i = 0; i < timers_.size(); ++i) {
    if (timers_[i].due_ms > now_ms_) continue;
    timers_[i].due_ms = now_ms_ + timers_[i].period_ms;
    auto fn = timers_[i].fn;  // a timer may add or cancel timers
    fn(now_ms_);
  }
}

void Engine::reap_closed() {
  for (size_t i = 0; i < polled_.size();) {
    Port& port = *polled_[i].port;
    if (!port.closed()) {
      ++i;
      continue;
    }
    ClosedHandler handler = polled_[i].on_closed;
    if (handler) {
      handler(port);
    } else {
      log(LogLevel::info, "port %s closed: %s", port.name().c_str(), port.close_reason().c_str());
      detach(port);
    }
    // The handler detached the port or brought it back; either way look at the same index again
    // only if it is still there and still closed.
    if (i < polled_.size() && polled_[i].port == &port && port.closed()) ++i;
  }
}

}  // namespace vswitch
