// The engine's rounds with the real Engine, real eventfds and pipes: timers, the control
// plane's descriptors, stop(), closed ports and how ports are taken (polled every round, socket
// ports when ready or while their last burst was full).
#include "vswitch/engine.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "../support/eal.hpp"
#include "../support/frames.hpp"
#include "../support/mbufs.hpp"
#include "../support/memory_port.hpp"
#include "vswitch/clock.hpp"

namespace vswitch {
namespace {

using namespace std::chrono_literals;

PortSettings named(const std::string& name) {
  PortSettings s;
  s.name = name;
  return s;
}

// Every wait on the engine ends by this, however loaded the machine.
constexpr uint64_t kDeadlineMs = 5000;

int make_eventfd() {
  const int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  return fd;
}

void notify(int fd) {
  const uint64_t one = 1;
  ASSERT_EQ(::write(fd, &one, sizeof one), static_cast<ssize_t>(sizeof one));
}

// A port in memory that counts how often the engine asks it for frames. Without a wait fd it
// is polled, as a DPDK device is; with one (an eventfd the test signals) it is a socket port,
// taken when the fd is readable. It can report itself closed, and tells when it is destroyed.
class CountingPort final : public Port {
 public:
  CountingPort(const std::string& name, rte_mempool* pool, bool with_wait_fd,
               bool* destroyed = nullptr)
      : Port(named(name)),
        pool_(pool),
        wait_fd_(with_wait_fd ? make_eventfd() : -1),
        destroyed_(destroyed) {}
  ~CountingPort() override {
    for (rte_mbuf* m : queue_)
      rte_pktmbuf_free(m);
    if (wait_fd_ >= 0) ::close(wait_fd_);
    if (destroyed_ != nullptr) *destroyed_ = true;
  }

  // Frames for receive(); a socket port's fd becomes readable.
  void inject(size_t count) {
    for (size_t i = 0; i < count; ++i) {
      rte_mbuf* m = test::chain_frame(pool_, test::frame(test::kBroadcast, test::mac(1 + i)));
      if (m == nullptr) throw std::runtime_error("pool empty");
      queue_.push_back(m);
    }
    if (wait_fd_ >= 0) notify(wait_fd_);
  }
  void close(const std::string& reason) { mark_closed(reason); }

  uint16_t receive(rte_mbuf** burst, uint16_t max) override {
    ++receive_calls;
    if (wait_fd_ >= 0) {  // drained, as a socket is once read
      uint64_t v;
      [[maybe_unused]] ssize_t r = ::read(wait_fd_, &v, sizeof v);
    }
    uint16_t n = 0;
    while (n < max && !queue_.empty()) {
      burst[n++] = queue_.front();
      queue_.pop_front();
    }
    return n;
  }
  uint16_t transmit(rte_mbuf** burst, uint16_t n) override {
    rte_pktmbuf_free_bulk(burst, n);
    return n;
  }
  int wait_fd() const override { return wait_fd_; }
  std::string_view kind() const override { return "counting"; }

  int receive_calls = 0;

 private:
  rte_mempool* pool_;
  int wait_fd_;
  bool* destroyed_;
  std::deque<rte_mbuf*> queue_;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = test::test_pool();
    ASSERT_NE(pool_, nullptr) << "EAL did not start";
    available_ = rte_mempool_avail_count(pool_);
    // After EAL's start-up, which takes a while the first time: timers count from the clock the
    // engine read when it was made.
    engine_ = std::make_unique<Engine>();
    SegmentSettings lan;
    lan.name = "lan";
    seg_ = &engine_->add_segment(std::move(lan));
  }
  void TearDown() override {
    engine_.reset();
    EXPECT_EQ(rte_mempool_avail_count(pool_), available_) << "mbufs leaked";
    for (int fd : fds_)
      ::close(fd);
  }

  CountingPort& attach(const std::string& name, bool with_wait_fd, bool* destroyed = nullptr,
                       Engine::ClosedHandler on_closed = {}) {
    auto p = std::make_unique<CountingPort>(name, pool_, with_wait_fd, destroyed);
    CountingPort& raw = *p;
    engine_->attach(*seg_, std::move(p), std::move(on_closed));
    return raw;
  }
  // A non-blocking pipe, {read end, write end}, closed at the end of the test.
  std::array<int, 2> pipe_for_test() {
    std::array<int, 2> p{};
    if (pipe2(p.data(), O_CLOEXEC | O_NONBLOCK) != 0) {
      throw std::system_error(errno, std::generic_category(), "pipe2");
    }
    fds_.push_back(p[0]);
    fds_.push_back(p[1]);
    return p;
  }
  int eventfd_for_test() {
    fds_.push_back(make_eventfd());
    return fds_.back();
  }
  // Rounds until done() or the deadline; false at the deadline.
  bool run_until(const std::function<bool()>& done) {
    const uint64_t deadline = monotonic_ms() + kDeadlineMs;
    while (!done()) {
      if (monotonic_ms() > deadline) return false;
      engine_->run_round();
    }
    return true;
  }
  // Without ports the engine sleeps until its next timer; this one keeps its rounds short.
  void short_rounds() {
    engine_->every(5, [](uint64_t) {});
  }

  rte_mempool* pool_ = nullptr;
  unsigned available_ = 0;
  std::unique_ptr<Engine> engine_;
  Segment* seg_ = nullptr;
  std::vector<int> fds_;
};

TEST_F(EngineTest, TimersFireInTheOrderTheyFallDue) {
  std::vector<std::string> fired;
  engine_->every(200, [&](uint64_t) { fired.push_back("slow"); });
  engine_->every(20, [&](uint64_t) { fired.push_back("fast"); });
  ASSERT_TRUE(
      run_until([&] { return std::find(fired.begin(), fired.end(), "slow") != fired.end(); }));
  ASSERT_GE(fired.size(), 3u) << ::testing::PrintToString(fired);
  // Added second, due ten times as often: it has fired several times before the slow one.
  EXPECT_EQ(fired[0], "fast");
  EXPECT_EQ(fired[1], "fast");
}

TEST_F(EngineTest, ATimerFiresNoSoonerThanItsPeriod) {
  std::vector<uint64_t> at;
  const uint64_t start = engine_->now_ms();  // what the timer's first due time counts from
  engine_->every(30, [&](uint64_t now) { at.push_back(now); });
  ASSERT_TRUE(run_until([&] { return at.size() >= 3; }));
  EXPECT_GE(at[0] - start, 30u);
  EXPECT_GE(at[1] - at[0], 30u);
  EXPECT_GE(at[2] - at[1], 30u);
  // The engine slept for them rather than spinning: a round is a wake-up, not a busy loop.
  EXPECT_LT(engine_->stats().rounds, 20u);
  EXPECT_GE(engine_->stats().sleeps, 3u);
}

TEST_F(EngineTest, ACancelledTimerNeverFires) {
  int cancelled_calls = 0;
  int other_calls = 0;
  const Engine::TimerId id = engine_->every(10, [&](uint64_t) { ++cancelled_calls; });
  engine_->every(15, [&](uint64_t) { ++other_calls; });
  engine_->cancel(id);
  ASSERT_TRUE(run_until([&] { return other_calls >= 4; }));
  EXPECT_EQ(cancelled_calls, 0);
}

TEST_F(EngineTest, ATimerCanCancelItselfFromItsCallback) {
  int calls = 0;
  int ticks = 0;
  Engine::TimerId id = 0;
  id = engine_->every(5, [&](uint64_t) {
    ++calls;
    engine_->cancel(id);
  });
  engine_->every(10, [&](uint64_t) { ++ticks; });
  ASSERT_TRUE(run_until([&] { return ticks >= 4; }));
  EXPECT_EQ(calls, 1);
}

TEST_F(EngineTest, AThrowingTimerIsLoggedAndTheEngineGoesOn) {
  int throws = 0;
  engine_->every(5, [&](uint64_t) {
    ++throws;
    throw std::runtime_error("a bug in a handler");
  });
  bool went_on = false;
  ASSERT_NO_THROW(went_on = run_until([&] { return throws >= 3; }));
  EXPECT_TRUE(went_on);
}

TEST_F(EngineTest, AWatchedEventfdRunsItsCallbackWhenWritten) {
  short_rounds();
  const int fd = eventfd_for_test();
  int calls = 0;
  uint32_t seen = 0;
  engine_->watch(fd, EPOLLIN, [&](uint32_t events) {
    ++calls;
    seen = events;
    uint64_t v;
    [[maybe_unused]] ssize_t r = ::read(fd, &v, sizeof v);
  });
  for (int i = 0; i < 3; ++i)
    engine_->run_round();
  EXPECT_EQ(calls, 0) << "called before anything was written";
  notify(fd);
  ASSERT_TRUE(run_until([&] { return calls > 0; }));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(seen & EPOLLIN);
  for (int i = 0; i < 3; ++i)
    engine_->run_round();
  EXPECT_EQ(calls, 1) << "called again with nothing more written";
}

TEST_F(EngineTest, AnUnwatchedPipeRunsNoCallback) {
  short_rounds();
  const std::array<int, 2> p = pipe_for_test();
  int calls = 0;
  engine_->watch(p[0], EPOLLIN, [&](uint32_t) { ++calls; });
  engine_->unwatch(p[0]);
  ASSERT_EQ(::write(p[1], "x", 1), 1);
  int ticks = 0;
  engine_->every(10, [&](uint64_t) { ++ticks; });
  ASSERT_TRUE(run_until([&] { return ticks >= 3; }));
  EXPECT_EQ(calls, 0);
}

TEST_F(EngineTest, ACallbackMayUnwatchItsOwnDescriptor) {
  short_rounds();
  const std::array<int, 2> p = pipe_for_test();
  int calls = 0;
  engine_->watch(p[0], EPOLLIN, [&](uint32_t) {
    ++calls;
    engine_->unwatch(p[0]);  // the pipe stays readable: only the unwatch keeps it quiet
  });
  ASSERT_EQ(::write(p[1], "x", 1), 1);
  ASSERT_TRUE(run_until([&] { return calls > 0; }));
  for (int i = 0; i < 5; ++i)
    engine_->run_round();
  EXPECT_EQ(calls, 1);
}

TEST_F(EngineTest, StopFromAnotherThreadWakesASleepingRun) {
  // Nothing to do but the engine's own ageing timer, a second away: run() sleeps in epoll.
  auto done = std::async(std::launch::async, [&] { engine_->run(); });
  std::this_thread::sleep_for(50ms);
  const uint64_t stopped_at = monotonic_ms();
  engine_->stop();
  ASSERT_EQ(done.wait_for(std::chrono::milliseconds(kDeadlineMs)), std::future_status::ready);
  EXPECT_TRUE(engine_->stopping());
  // Woken by stop(), not by the timer.
  EXPECT_LT(monotonic_ms() - stopped_at, 500u);
}

TEST_F(EngineTest, StopFromATimerEndsRun) {
  int calls = 0;
  engine_->every(10, [&](uint64_t) {
    if (++calls == 3) engine_->stop();
  });
  auto done = std::async(std::launch::async, [&] { engine_->run(); });
  ASSERT_EQ(done.wait_for(std::chrono::milliseconds(kDeadlineMs)), std::future_status::ready);
  EXPECT_EQ(calls, 3);
}

TEST_F(EngineTest, APolledPortIsAskedOncePerRound) {
  CountingPort& dev = attach("dev0", /*with_wait_fd=*/false);
  EXPECT_TRUE(dev.polled());
  for (int i = 0; i < 50; ++i)
    engine_->run_round();
  EXPECT_EQ(dev.receive_calls, 50);
  EXPECT_EQ(engine_->stats().rounds, 50u);
  EXPECT_EQ(engine_->stats().sleeps, 0u) << "slept while spinning on a polled port";
}

TEST_F(EngineTest, FramesOfAPolledPortReachTheOtherPorts) {
  auto a = std::make_unique<test::MemoryPort>(named("a"), pool_);
  auto b = std::make_unique<test::MemoryPort>(named("b"), pool_);
  test::MemoryPort& from = *a;
  test::MemoryPort& to = *b;
  engine_->attach(*seg_, std::move(a));
  engine_->attach(*seg_, std::move(b));
  const test::Bytes f = test::frame(test::kBroadcast, test::mac(7));
  from.inject(f);
  engine_->run_round();
  ASSERT_EQ(to.sent.size(), 1u);
  EXPECT_EQ(to.sent[0], f);
  EXPECT_EQ(engine_->stats().frames, 1u);
}

TEST_F(EngineTest, ASocketPortIsTakenOnlyWhenReadable) {
  short_rounds();
  CountingPort& sock = attach("sock", /*with_wait_fd=*/true);
  EXPECT_FALSE(sock.polled());
  for (int i = 0; i < 5; ++i)
    engine_->run_round();
  EXPECT_EQ(sock.receive_calls, 0);
  sock.inject(1);
  ASSERT_TRUE(run_until([&] { return sock.receive_calls > 0; }));
  for (int i = 0; i < 5; ++i)
    engine_->run_round();
  EXPECT_EQ(sock.receive_calls, 1);
  EXPECT_EQ(engine_->stats().frames, 1u);
}

TEST_F(EngineTest, ASocketPortWithAFullBurstIsTakenAgainWithoutReadiness) {
  short_rounds();
  CountingPort& sock = attach("sock", /*with_wait_fd=*/true);
  sock.inject(kBurst + 8);  // one signal, read away by the first receive
  ASSERT_TRUE(run_until([&] { return sock.receive_calls > 0; }));
  EXPECT_EQ(engine_->stats().frames, kBurst);
  engine_->run_round();  // hot: its last burst was full
  EXPECT_EQ(sock.receive_calls, 2);
  EXPECT_EQ(engine_->stats().frames, kBurst + 8u);
  for (int i = 0; i < 3; ++i)
    engine_->run_round();
  EXPECT_EQ(sock.receive_calls, 2) << "taken again after a short burst";
}

TEST_F(EngineTest, AClosedPortIsDetachedAndDestroyedByDefault) {
  bool destroyed = false;
  CountingPort& dev = attach("dev0", /*with_wait_fd=*/true, &destroyed);
  attach("dev1", /*with_wait_fd=*/false);
  engine_->run_round();
  ASSERT_TRUE(engine_->find_port("dev0"));
  dev.close("peer went away");
  engine_->run_round();
  EXPECT_TRUE(destroyed);
  EXPECT_FALSE(engine_->find_port("dev0"));
  EXPECT_TRUE(engine_->find_port("dev1"));
  EXPECT_EQ(seg_->port_count(), 1u);
}

TEST_F(EngineTest, AClosedPortIsHandedToItsOnClosedHandler) {
  short_rounds();
  bool destroyed = false;
  std::vector<std::string> handed;
  std::unique_ptr<Port> kept;
  CountingPort& dev = attach("dev0", /*with_wait_fd=*/false, &destroyed, [&](Port& p) {
    handed.push_back(p.name() + ": " + p.close_reason());
    kept = engine_->detach(p);
  });
  engine_->run_round();
  EXPECT_TRUE(handed.empty()) << "handed over while open";
  dev.close("device removed");
  for (int i = 0; i < 3; ++i)
    engine_->run_round();
  ASSERT_EQ(handed, std::vector<std::string>{"dev0: device removed"});
  EXPECT_FALSE(destroyed) << "the handler kept it";
  EXPECT_EQ(kept.get(), &dev);
  EXPECT_FALSE(engine_->find_port("dev0"));
  EXPECT_EQ(seg_->port_count(), 0u);
}

}  // namespace
}  // namespace vswitch
