// vswitchctl top against traffic of a known rate: frames a second and bits a second on the
// port that sends and the one that receives, drops a second by reason, the segment's FDB; and
// the live view on a real terminal, given back as it was after Ctrl-C.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "../support/process.hpp"
#include "../support/vde_client.hpp"

namespace vswitch::test {
namespace {

RunResult ctl(const Vswitchd& vs, std::vector<std::string> args,
              std::chrono::milliseconds timeout = 20s) {
  args.insert(args.begin(), {vswitchctl_path(), "--socket", vs.socket()});
  return run_program(args, timeout);
}

const Value* row_named(const Value& rows, const std::string& name) {
  for (const Value& r : rows.items()) {
    if (r.get("name") && r.get("name")->as_string() == name) return &r;
  }
  return nullptr;
}

// Sends `frames` in turn, `per_second` of them a second, on an absolute schedule so that
// late wake-ups do not lower the rate, until stopped.
class Pacer {
 public:
  Pacer(VdeClient& from, std::vector<Bytes> frames, int per_second)
      : thread_([this, &from, frames = std::move(frames), per_second] {
          const auto step = std::chrono::nanoseconds(1'000'000'000 / per_second);
          auto next = std::chrono::steady_clock::now();
          for (size_t i = 0; !stop_; ++i) {
            from.send(frames[i % frames.size()]);
            next += step;
            std::this_thread::sleep_until(next);
          }
        }) {}
  ~Pacer() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Reads what a client is sent, so that its socket never fills and the switch never drops.
class Drain {
 public:
  explicit Drain(VdeClient& c)
      : thread_([this, &c] {
          while (!stop_)
            c.recv(50);
        }) {}
  ~Drain() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class Top : public ::testing::Test {
 protected:
  void SetUp() override {
    vs_ = std::make_unique<Vswitchd>(std::vector<std::string>{"--vde", tmp_.file("sw")});
    ASSERT_TRUE(vs_->ready()) << vs_->log();
    a_ = std::make_unique<VdeClient>(tmp_.file("sw"));
    b_ = std::make_unique<VdeClient>(tmp_.file("sw"));
    ASSERT_TRUE(a_->ok() && b_->ok());
    ASSERT_TRUE(wait_until([&] { return vs_->ctl({"port", "list"}).items().size() == 2; }, 5s));
    // b makes itself known, so a's frames to it are unicast to its port alone.
    ASSERT_TRUE(b_->send(frame(kBroadcast, mac(2), 46, 0)));
    ASSERT_TRUE(a_->recv());
  }

  TempDir tmp_;
  std::unique_ptr<Vswitchd> vs_;
  std::unique_ptr<VdeClient> a_, b_;
};

TEST_F(Top, OnceJsonGivesTheRatesOfTheTrafficSent) {
  // 200 frames a second from a to b, and 100 a second that a sends to its own address: those
  // the switch drops on a's port as hairpins.
  constexpr int kGoodPerSecond = 200, kHairpinPerSecond = 100;
  const Bytes to_b = frame(mac(2), mac(1), 200, 1);
  const Bytes to_self = frame(mac(1), mac(1), 100, 2);
  Drain drain(*b_);
  std::vector<Bytes> pattern = {to_b, to_b, to_self};  // two good frames to every hairpin
  Pacer pacer(*a_, pattern, kGoodPerSecond + kHairpinPerSecond);
  std::this_thread::sleep_for(300ms);  // the window starts once the pace is steady
  const RunResult r = ctl(*vs_, {"top", "--once", "--json", "--interval", "2"});
  ASSERT_EQ(r.status, 0) << r.err;
  const auto v = Value::parse_json(r.out);
  ASSERT_TRUE(v) << r.out;
  EXPECT_NEAR(v->get("interval_ms")->as_double(), 2000, 200);
  const Value* a = row_named(*v->get("ports"), "vde:1");
  const Value* b = row_named(*v->get("ports"), "vde:2");
  ASSERT_TRUE(a && b) << r.out;

  // Rates a factor of 1000 or 8 off, or counting the wrong port, are far outside these.
  EXPECT_NEAR(a->get("in_pps")->as_double(), kGoodPerSecond + kHairpinPerSecond, 60) << r.out;
  EXPECT_NEAR(b->get("out_pps")->as_double(), kGoodPerSecond, 40) << r.out;
  EXPECT_LT(b->get("in_pps")->as_double(), 1) << r.out;
  EXPECT_NEAR(a->at("drops_per_s.hairpin")->as_double(), kHairpinPerSecond, 20) << r.out;
  EXPECT_NEAR(a->get("dropped_per_s")->as_double(), kHairpinPerSecond, 20) << r.out;
  EXPECT_EQ(b->get("drops_per_s")->members().size(), 0u) << r.out;
  // Every frame b was sent has the same length: its bits a second are its frames a second
  // times that length in bits, to the last rounding.
  const double b_bits_per_frame = b->get("out_bps")->as_double() / b->get("out_pps")->as_double();
  EXPECT_NEAR(b_bits_per_frame, 8.0 * static_cast<double>(to_b.size()), 1e-6) << r.out;
  const Value* seg = row_named(*v->get("segments"), "default");
  ASSERT_TRUE(seg);
  EXPECT_EQ(seg->get("fdb_entries")->as_int(), 2);
  EXPECT_EQ(seg->get("learned_per_s")->as_double(), 0) << "nothing new was learned";
}

TEST_F(Top, OnceTextShowsEveryPortAndSegment) {
  const RunResult r = ctl(*vs_, {"top", "--once", "--interval", "0.2"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("IN pkt/s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("vde:1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("vde:2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("learned/s"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "escape sequences outside a terminal";
}

TEST_F(Top, BadIntervalIsAUsageError) {
  const RunResult r = ctl(*vs_, {"top", "--interval", "0"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--interval"), std::string::npos) << r.err;
}

// The exit status of a child within the timeout; nullopt if it is still running.
std::optional<int> exit_status(pid_t pid, std::chrono::milliseconds timeout) {
  std::optional<int> status;
  wait_until(
      [&] {
        int st = 0;
        if (waitpid(pid, &st, WNOHANG) != pid) return false;
        status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return true;
      },
      timeout);
  return status;
}

// What the terminal shows of a program, read from the pty's master side.
std::string read_for(int fd, std::chrono::milliseconds how_long, const std::string& until = "") {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + how_long;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!until.empty() && out.find(until) != std::string::npos) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char buf[4096];
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;  // EIO: the last program on the terminal is gone
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

TEST_F(Top, CtrlCOnATerminalExitsAndGivesTheTerminalBack) {
  int master = -1, slave = -1;
  ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  termios before{};
  ASSERT_EQ(tcgetattr(slave, &before), 0);
  ASSERT_TRUE(before.c_lflag & ICANON);
  const pid_t pid =
      spawn({vswitchctl_path(), "--socket", vs_->socket(), "top", "--interval", "0.2"}, "", "",
            [master, slave] {
              // A session of its own whose controlling terminal is the pty, as a
              // shell would start it.
              close(master);
              setsid();
              ioctl(slave, TIOCSCTTY, 0);
              dup2(slave, 0);
              dup2(slave, 1);
              dup2(slave, 2);
            });
  close(slave);
  ASSERT_GT(pid, 0);
  const std::string screen = read_for(master, 5s, "vde:2");
  EXPECT_NE(screen.find("\x1b[?1049h"), std::string::npos) << "no alternate screen";
  EXPECT_NE(screen.find("vde:1"), std::string::npos) << screen;
  termios during{};
  // The master side reads the terminal's settings while top has them.
  ASSERT_EQ(tcgetattr(master, &during), 0);
  EXPECT_FALSE(during.c_lflag & ICANON) << "keys are not read one at a time";
  EXPECT_FALSE(during.c_lflag & ECHO);

  ASSERT_EQ(write(master, "\x03", 1), 1);  // Ctrl-C, through the line discipline: SIGINT
  const auto status = exit_status(pid, 5s);
  if (!status) {
    kill(pid, SIGKILL);
    exit_status(pid, 5s);
  }
  ASSERT_TRUE(status) << "top did not exit on Ctrl-C";
  EXPECT_EQ(*status, 0);
  const std::string tail = read_for(master, 500ms);
  EXPECT_NE(tail.find("\x1b[?25h\x1b[?1049l"), std::string::npos)
      << "cursor and screen not given back";
  termios after{};
  ASSERT_EQ(tcgetattr(master, &after), 0);
  EXPECT_TRUE(after.c_lflag & ICANON);
  EXPECT_TRUE(after.c_lflag & ECHO);
  close(master);
}

}  // namespace
}  // namespace vswitch::test
