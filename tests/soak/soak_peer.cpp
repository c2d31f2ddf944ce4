// soak_peer: the peers scripts/soak.sh runs against the real vswitchd, one subcommand each.
// Every one ends by itself (its work done, --seconds over) or on SIGTERM, and then prints one
// line of key=value results; every blocking call wakes up at least every 100 ms.
//
//   soak_peer cycles DIR N [--open K]           N VDE connections opened and closed in turn,
//                                               K at a time, each sending one broadcast
//   soak_peer stream-clients PORT N [--open K]  the same for TCP connections to the stream
//                                               server on 127.0.0.1:PORT; every other one ends
//                                               with a reset instead of a FIN
//   soak_peer send DIR [options]                a sender: --dst MAC (repeatable, round robin;
//                                               default broadcast), --src MAC, --sources N
//                                               (source addresses counting up from --src),
//                                               --count N, --rate PPS (0: flat out),
//                                               --seconds S, --id N, --hold S (stay
//                                               connected S more seconds once done); a paced
//                                               sender also reads and drops what it is sent
//   soak_peer recv DIR --mac MAC [--id N]       a receiver of id N's frames: how many, how many
//                                               missing, and the longest silence between two
//   soak_peer stuck DIR --mac MAC               a VDE client that announces itself every
//                                               second and never reads
//   soak_peer stuck-stream PORT --mac MAC       the same on a TCP stream connection
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../support/raw_peer.hpp"
#include "../support/vde_client.hpp"
#include "frames.hpp"

namespace vswitch::test {
namespace {

// An ethertype for local experiments (IEEE 802 local experimental 1), so no stack reacts.
constexpr uint16_t kEthertype = 0x88b5;
// After the Ethernet header: magic, sender id, sequence number.
constexpr uint32_t kMagic = 0x736f616b;  // "soak"
constexpr size_t kFrameSize = 60;
constexpr size_t kMaxFrame = 65536;
constexpr int kWakeMs = 100;
constexpr unsigned kBatch = 32;

volatile sig_atomic_t g_stop = 0;

void on_signal(int) {
  g_stop = 1;
}

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

[[noreturn]] void die(const std::string& what) {
  fprintf(stderr, "soak_peer: %s\n", what.c_str());
  exit(2);
}

// One line with one write: the script reads it as soon as it is there.
void emit(const std::string& line) {
  const std::string l = line + "\n";
  if (write(STDOUT_FILENO, l.data(), l.size()) < 0) {
    // The reader is gone: nothing to tell.
  }
}

std::string kv(const char* key, double v, int digits = 0) {
  char b[96];
  snprintf(b, sizeof b, " %s=%.*f", key, digits, v);
  return b;
}

// Positional words, then --key value pairs (repeatable keys keep every value).
struct Args {
  std::vector<std::string> words;
  std::map<std::string, std::vector<std::string>> flags;

  std::string text(const std::string& key, const std::string& fallback = "") const {
    auto it = flags.find(key);
    return it == flags.end() ? fallback : it->second.back();
  }
  double number(const std::string& key, double fallback) const {
    auto it = flags.find(key);
    if (it == flags.end()) return fallback;
    char* end = nullptr;
    const double v = strtod(it->second.back().c_str(), &end);
    if (end == it->second.back().c_str() || *end != '\0' || v < 0) {
      die("--" + key + " '" + it->second.back() + "' is not a number >= 0");
    }
    return v;
  }
  MacAddr mac(const std::string& key, MacAddr fallback) const {
    return flags.count(key) ? parse_mac(flags.at(key).back()) : fallback;
  }
  static MacAddr parse_mac(const std::string& text) {
    auto m = MacAddr::parse(text);
    if (!m) die("'" + text + "' is not a MAC address");
    return *m;
  }
  uint64_t word_number(size_t i) const {
    if (i >= words.size()) die("missing argument " + std::to_string(i + 1) + " (see --help)");
    char* end = nullptr;
    const unsigned long long v = strtoull(words[i].c_str(), &end, 10);
    if (end == words[i].c_str() || *end != '\0') die("'" + words[i] + "' is not a count");
    return v;
  }
  const std::string& word(size_t i) const {
    if (i >= words.size()) die("missing argument " + std::to_string(i + 1) + " (see --help)");
    return words[i];
  }
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 2; i < argc; ++i) {
    const std::string w = argv[i];
    if (w.rfind("--", 0) != 0) {
      a.words.push_back(w);
      continue;
    }
    if (i + 1 >= argc) die(w + " needs a value");
    a.flags[w.substr(2)].push_back(argv[++i]);
  }
  return a;
}

void store_be32(uint8_t* p, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8)
    p[i] = static_cast<uint8_t>(v);
}
uint32_t load_be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
void store_be64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8)
    p[i] = static_cast<uint8_t>(v);
}
uint64_t load_be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = v << 8 | p[i];
  return v;
}

// `base` with n added to its last four octets: the sources of a sender, the clients of a run.
MacAddr plus(MacAddr base, uint64_t n) {
  uint8_t b[6];
  base.to_bytes(b);
  store_be32(b + 2, static_cast<uint32_t>(load_be32(b + 2) + n));
  return MacAddr::from_bytes(b);
}
// Locally administered unicast addresses, 0a:00:... for the VDE cycles, 0a:01:... for the stream
// clients: never a sender's or a receiver's.
const MacAddr kCycleMacs = *MacAddr::parse("0a:00:00:00:00:00");
const MacAddr kStreamMacs = *MacAddr::parse("0a:01:00:00:00:00");

void build(uint8_t* f, MacAddr dst, MacAddr src, uint32_t id, uint64_t seq) {
  std::memset(f, 0, kFrameSize);
  dst.to_bytes(f);
  src.to_bytes(f + 6);
  store_be16(f + 12, kEthertype);
  store_be32(f + 14, kMagic);
  store_be32(f + 18, id);
  store_be64(f + 22, seq);
}

Bytes hello(MacAddr from) {
  Bytes f(kFrameSize);
  build(f.data(), kBroadcast, from, 0, 0);
  return f;
}

bool readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1;
}

std::unique_ptr<VdeClient> open_vde(const std::string& dir, const char* description) {
  auto c = std::make_unique<VdeClient>(dir, 0, description);
  if (!c->ok()) die("cannot connect to the VDE switch " + dir);
  return c;
}

// A TCP connection to the stream server on 127.0.0.1:port, with timeouts on every call; -1 on
// failure. A small receive buffer makes a client that does not read fill up quickly.
int connect_stream(uint16_t port, int rcvbuf = 0) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  const sockaddr_in a = inet_addr(port);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

uint16_t tcp_port(const Args& a) {
  const uint64_t p = a.word_number(0);
  if (p == 0 || p > 65535) die("port " + a.word(0) + " is out of range");
  return static_cast<uint16_t>(p);
}

int cycles(const Args& a) {
  const std::string& dir = a.word(0);
  const uint64_t n = a.word_number(1);
  const auto open = static_cast<size_t>(std::max(1.0, a.number("open", 1)));
  std::deque<std::unique_ptr<VdeClient>> live;
  uint64_t done = 0, refused = 0, unsent = 0;
  int last_errno = 0;
  const double start = now_s();
  for (uint64_t i = 0; i < n && !g_stop; ++i) {
    errno = 0;
    auto c = std::make_unique<VdeClient>(dir, 0, "soak-cycle");
    if (!c->ok()) {
      ++refused;
      last_errno = errno;
      continue;
    }
    if (!c->send(hello(plus(kCycleMacs, i)))) {
      ++unsent;
      last_errno = errno;
      continue;
    }
    ++done;
    live.push_back(std::move(c));
    if (live.size() >= open) live.pop_front();
  }
  live.clear();
  const double t = now_s() - start;
  emit("cycles=" + std::to_string(done) + " failed=" + std::to_string(refused + unsent) +
       " refused=" + std::to_string(refused) + " unsent=" + std::to_string(unsent) +
       (last_errno ? std::string(" last_error=") + strerrorname_np(last_errno) : "") +
       kv("seconds", t, 2) + kv("per_s", static_cast<double>(done) / t));
  return refused + unsent == 0 && done == n ? 0 : 1;
}

int stream_clients(const Args& a) {
  const uint16_t port = tcp_port(a);
  const uint64_t n = a.word_number(1);
  const auto open = static_cast<size_t>(std::max(1.0, a.number("open", 1)));
  std::deque<int> live;
  uint64_t done = 0, failed = 0, resets = 0;
  double slowest = 0;
  auto finish = [&](int fd, bool reset) {
    if (reset) {
      // SO_LINGER 0: close() sends a reset, the way a killed guest's host ends it.
      linger l{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      ++resets;
    }
    close(fd);
  };
  const double start = now_s();
  for (uint64_t i = 0; i < n && !g_stop; ++i) {
    const double t0 = now_s();
    const int fd = connect_stream(port);
    slowest = std::max(slowest, now_s() - t0);
    if (fd < 0 || !send_all(fd, record(hello(plus(kStreamMacs, i))))) {
      if (fd >= 0) close(fd);
      ++failed;
      continue;
    }
    ++done;
    live.push_back(fd);
    if (live.size() >= open) {
      finish(live.front(), done % 2 == 0);
      live.pop_front();
    }
  }
  for (int fd : live)
    finish(fd, false);
  const double t = now_s() - start;
  emit("clients=" + std::to_string(done) + " failed=" + std::to_string(failed) +
       " resets=" + std::to_string(resets) + kv("seconds", t, 2) +
       kv("per_s", static_cast<double>(done) / t) + kv("slowest_connect_ms", slowest * 1e3, 1));
  return failed == 0 && done == n ? 0 : 1;
}

int send(const Args& a) {
  auto c = open_vde(a.word(0), "soak-send");
  std::vector<MacAddr> dsts;
  if (auto it = a.flags.find("dst"); it != a.flags.end()) {
    for (const auto& d : it->second)
      dsts.push_back(Args::parse_mac(d));
  } else {
    dsts.push_back(kBroadcast);
  }
  const MacAddr src = a.mac("src", *MacAddr::parse("02:00:00:00:00:01"));
  const auto sources = static_cast<uint64_t>(a.number("sources", 0));
  const auto count = static_cast<uint64_t>(a.number("count", 0));
  const double rate = a.number("rate", 0);
  const double seconds = a.number("seconds", 0);
  const auto id = static_cast<uint32_t>(a.number("id", 1));
  const double hold_s = a.number("hold", 0);
  // A paced sender sends one frame at a time, so its frames are evenly spread.
  const unsigned batch = rate > 0 && rate < 10000 ? 1 : kBatch;

  std::vector<uint8_t> frames(kBatch * kFrameSize);
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
  uint64_t seq = 0, sent = 0, waits = 0, errors = 0;
  const double start = now_s();
  while (!g_stop && (count == 0 || seq < count) && (seconds == 0 || now_s() - start < seconds)) {
    if (rate > 0) {
      // What the switch floods to us is read and dropped, so that this port is no stuck reader.
      while (::recv(c->data_fd(), frames.data(), frames.size(), MSG_DONTWAIT) > 0) {
      }
      const double wait = start + static_cast<double>(seq) / rate - now_s();
      if (wait > 0) {
        usleep(static_cast<useconds_t>(std::min(wait, kWakeMs * 1e-3) * 1e6));
        continue;
      }
    }
    unsigned k = 0;
    for (; k < batch && (count == 0 || seq + k < count); ++k) {
      const uint64_t s = seq + k;
      const MacAddr from = sources ? plus(src, s % sources) : src;
      uint8_t* f = &frames[k * kFrameSize];
      build(f, dsts[s % dsts.size()], from, id, s);
      iov[k] = {f, kFrameSize};
      msgs[k] = {};
      msgs[k].msg_hdr.msg_iov = &iov[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
    }
    unsigned done = 0;
    while (done < k && !g_stop) {
      const int r = sendmmsg(c->data_fd(), msgs + done, k - done, MSG_DONTWAIT);
      if (r > 0) {
        done += static_cast<unsigned>(r);
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR) {
        // The switch is not draining: wait for room, but wake up for SIGTERM.
        ++waits;
        pollfd p{c->data_fd(), POLLOUT, 0};
        poll(&p, 1, kWakeMs);
        continue;
      }
      ++errors;
      break;
    }
    sent += done;
    seq += k;
    if (errors) break;
  }
  const double t = now_s() - start;
  emit("sent=" + std::to_string(sent) + kv("seconds", t, 2) +
       kv("pps", static_cast<double>(sent) / t) + " waits=" + std::to_string(waits) +
       " errors=" + std::to_string(errors));
  // The port stays, with what the switch learned from it, until the script has looked.
  for (const double until = now_s() + hold_s; !g_stop && now_s() < until;)
    usleep(kWakeMs * 1000);
  return errors ? 1 : 0;
}

// Sequence numbers seen, once each, so that missing and duplicated frames show.
class SeqSet {
 public:
  bool insert(uint64_t seq) {
    const auto word = static_cast<size_t>(seq / 64);
    if (word >= bits_.size()) bits_.resize(std::max(word + 1, bits_.size() * 2), 0);
    const uint64_t bit = uint64_t{1} << (seq % 64);
    if (bits_[word] & bit) return false;
    bits_[word] |= bit;
    end_ = std::max(end_, seq + 1);
    return true;
  }
  uint64_t end() const { return end_; }

 private:
  std::vector<uint64_t> bits_;
  uint64_t end_ = 0;
};

int recv(const Args& a) {
  if (!a.flags.count("mac")) die("recv needs --mac");
  auto c = open_vde(a.word(0), "soak-recv");
  const MacAddr me = a.mac("mac", MacAddr());
  const auto id = static_cast<uint32_t>(a.number("id", 1));
  std::vector<uint8_t> bufs(kBatch * kMaxFrame);
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
  for (unsigned i = 0; i < kBatch; ++i) {
    iov[i] = {&bufs[i * kMaxFrame], kMaxFrame};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  SeqSet seen;
  uint64_t received = 0, dup = 0, other = 0;
  const double start = now_s();
  double first = -1, last = -1, longest = 0, longest_end = 0, announced = 0;
  uint64_t over_100ms = 0;
  while (!g_stop) {
    const double t = now_s();
    // Said again every second, so that the switch never forgets where this address is.
    if (t - announced >= 1) {
      c->send(hello(me));
      announced = t;
    }
    if (!readable(c->data_fd(), kWakeMs)) continue;
    const int n = recvmmsg(c->data_fd(), msgs, kBatch, MSG_DONTWAIT, nullptr);
    const double at = now_s();
    for (int i = 0; i < n; ++i) {
      const uint8_t* f = &bufs[static_cast<size_t>(i) * kMaxFrame];
      if (msgs[i].msg_len < kFrameSize || load_be16(f + 12) != kEthertype ||
          load_be32(f + 14) != kMagic || load_be32(f + 18) != id) {
        ++other;
        continue;
      }
      if (last >= 0 && at - last > 0.1) ++over_100ms;
      if (last >= 0 && at - last > longest) {
        longest = at - last;
        longest_end = at;
      }
      if (first < 0) first = at;
      last = at;
      if (seen.insert(load_be64(f + 22))) {
        ++received;
      } else {
        ++dup;
      }
    }
  }
  const double end = now_s();
  // Silence up to the end counts too: traffic that stopped for good is the longest gap of all.
  if (end - (last >= 0 ? last : start) > longest) {
    longest = end - (last >= 0 ? last : start);
    longest_end = end;
  }
  emit("received=" + std::to_string(received) +
       " missing=" + std::to_string(seen.end() - received) + " dup=" + std::to_string(dup) +
       " other=" + std::to_string(other) + kv("first_ms", first < 0 ? -1 : (first - start) * 1e3) +
       kv("longest_gap_ms", longest * 1e3) + kv("longest_gap_end_s", longest_end - start, 2) +
       " gaps_over_100ms=" + std::to_string(over_100ms) + kv("seconds", end - start, 2));
  return 0;
}

// Waits for SIGTERM, saying `say` every second (an announcement, so the switch keeps sending).
void hold(const std::function<bool()>& say) {
  double announced = 0;
  uint64_t failed = 0, said = 0;
  while (!g_stop) {
    if (now_s() - announced >= 1) {
      (say() ? said : failed)++;
      announced = now_s();
    }
    usleep(kWakeMs * 1000);
  }
  emit("announced=" + std::to_string(said) + " failed=" + std::to_string(failed));
}

int stuck(const Args& a) {
  if (!a.flags.count("mac")) die("stuck needs --mac");
  auto c = open_vde(a.word(0), "soak-stuck");
  const Bytes h = hello(a.mac("mac", MacAddr()));
  hold([&] { return c->send(h); });
  return 0;
}

int stuck_stream(const Args& a) {
  if (!a.flags.count("mac")) die("stuck-stream needs --mac");
  const int fd = connect_stream(tcp_port(a), 4096);
  if (fd < 0) die("cannot connect to 127.0.0.1:" + a.word(0));
  const Bytes h = record(hello(a.mac("mac", MacAddr())));
  // Its announcements may block once the switch stops reading too: the send timeout bounds it.
  hold([&] { return send_all(fd, h); });
  close(fd);
  return 0;
}

struct Command {
  const char* name;
  int (*run)(const Args&);
};
constexpr Command kCommands[] = {
    {"cycles", cycles}, {"stream-clients", stream_clients}, {"send", send}, {"recv", recv},
    {"stuck", stuck},   {"stuck-stream", stuck_stream},
};

void usage(FILE* to) {
  // The comment at the top of this file is the manual.
  fprintf(to,
          "usage: soak_peer cycles DIR N [--open K] | stream-clients PORT N [--open K]\n"
          "       | send DIR [--dst MAC]... [--src MAC] [--sources N] [--count N] [--rate PPS]\n"
          "         [--seconds S] [--id N] | recv DIR --mac MAC [--id N]\n"
          "       | stuck DIR --mac MAC | stuck-stream PORT --mac MAC\n");
}

}  // namespace
}  // namespace vswitch::test

int main(int argc, char** argv) {
  using namespace vswitch::test;
  if (argc < 2 || std::string_view(argv[1]) == "--help") {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  // No SA_RESTART: SIGTERM must end a blocking call at once.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  for (const Command& c : kCommands) {
    if (std::string_view(argv[1]) == c.name) return c.run(parse(argc, argv));
  }
  usage(stderr);
  return 2;
}
