// vdeload: the load generator and sink of bench/vde_e2e.sh, a real VDE client (libvdeplug) or
// one end of a bare Unix datagram pair with no switch, so the three paths share one I/O code.
//
//   vdeload send DIR [options]   generator on the VDE switch serving DIR
//   vdeload recv DIR [options]   sink on the VDE switch serving DIR
//   vdeload pair [options]       bare pair: generator here, --sinks N forked sinks, no switch
//   vdeload send|recv --iface IF  the same frames through a packet socket on a host interface
//                                (a tap's host side: bench/tap_e2e.sh)
//   vdeload recv DIR --stall     a stuck client: announces itself, then never reads
//                                (--stall-after S: reads for S seconds first)
//                                (bench/fairness_e2e.sh)
// Each prints one result line at the end: role=send sent=N (datagrams handed to the kernel, over
// all its sockets: one per sink on a pair) frames=N seconds=T ..., role=recv received=N (unique
// sequence numbers) dup=D gaps=G ...; `vdeload --help` lists the options.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
// libvdeplug.h has no C++ guard of its own.
extern "C" {
#include <libvdeplug.h>
}
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vswitch/ether.hpp"

namespace {

// The largest frame vdeplug4 carries (VDE_ETHBUFSIZE): a sink never truncates what a switch
// could forward.
constexpr size_t kMaxFrame = VDE_ETHBUFSIZE;
constexpr size_t kEthHeader = 14;
// An ethertype for local experiments (IEEE 802 local experimental 1), so no stack reacts.
constexpr uint16_t kEthertype = 0x88b5;
// Payload layout after the Ethernet header: magic, generator id, sequence number.
constexpr uint32_t kMagicData = 0x7664656c;   // "vdel"
constexpr uint32_t kMagicHello = 0x76646568;  // "vdeh": a sink announcing itself
constexpr uint32_t kMagicFill = 0x76646566;   // "vdef": a --mix frame, which no sink counts
constexpr size_t kPayload = 4 + 4 + 8;
constexpr size_t kMinFrame = kEthHeader + kPayload;
// Blocking calls wake up this often to look at the clock and at SIGTERM.
constexpr long kWakeUs = 50'000;

using Mac = std::array<uint8_t, 6>;

// A share of the generator's frames sent elsewhere: every `every`-th frame (counted from
// `offset`) goes to dst, carrying no sequence number.
struct MixShare {
  Mac dst{};
  unsigned every = 0;
  unsigned offset = 0;
};

volatile sig_atomic_t g_stop = 0;

void on_signal(int) {
  g_stop = 1;
}

void sleep_s(double s) {
  const auto whole = static_cast<time_t>(s);
  timespec ts{whole, static_cast<long>((s - static_cast<double>(whole)) * 1e9)};
  nanosleep(&ts, nullptr);
}

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

[[noreturn]] void die(const std::string& what) {
  fprintf(stderr, "vdeload: %s\n", what.c_str());
  exit(1);
}

[[noreturn]] void die_errno(const std::string& what) {
  die(what + ": " + strerror(errno));
}

// The switch's own parser, so every tool reads addresses the same way.
std::optional<Mac> parse_mac(std::string_view text) {
  const auto mac = vswitch::MacAddr::parse(text);
  if (!mac) return std::nullopt;
  Mac m{};
  mac->to_bytes(m.data());
  return m;
}

struct Options {
  std::string role;   // send, recv or pair
  std::string dir;    // the VDE switch directory (send, recv)
  std::string iface;  // or a host interface, through a packet socket
  double seconds = 5;
  size_t size = 60;
  unsigned batch = 32;
  bool batched = true;
  double rate = 0;  // frames a second; 0 = as fast as the socket takes them
  Mac src{0x02, 0x76, 0x64, 0x65, 0x00, 0x01};
  Mac dst{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  bool src_given = false;
  uint32_t id = 1;
  unsigned announce = 4;
  double drain = 1;
  double wait = 30;
  double hold = 0;
  long watch_pid = 0;
  unsigned sinks = 1;
  std::vector<MixShare> mix;
  bool read_back = false;
  bool stall = false;
  double stall_after = 0;  // seconds of reading before the stall
};

void usage(FILE* to) {
  fprintf(to,
          "usage: vdeload send DIR | recv DIR | pair  [options]\n"
          "  send DIR        generator, a VDE client of the switch serving DIR\n"
          "  recv DIR        sink, a VDE client of the switch serving DIR\n"
          "  send|recv --iface IF  the same on host interface IF, through a packet socket\n"
          "  pair            bare Unix datagram pair(s), no switch: generator here, sinks forked\n"
          "options:\n"
          "  --seconds S     send for S seconds; a sink counts for S after its first frame (5)\n"
          "  --size BYTES    datagram size, Ethernet header included, no FCS (60; min %zu)\n"
          "  --batch N       frames per sendmmsg/recvmmsg (32)\n"
          "  --no-batch      one vde_send/vde_recv (send/recv on a pair) per frame\n"
          "  --rate PPS      generator pace, in batches (0 = max: the socket's back-pressure)\n"
          "  --src MAC       source address (generator 02:76:64:65:00:01, sink ...:01:01)\n"
          "  --dst MAC       generator destination (default broadcast)\n"
          "  --broadcast     generator destination ff:ff:ff:ff:ff:ff\n"
          "  --id N          generator id in every frame; a sink counts only this id (1)\n"
          "  --announce N    sink: frames sent from --src first, for a learning switch (4)\n"
          "  --drain S       sink: stop after S of silence once frames have come (1)\n"
          "  --wait S        sink: give up when no frame comes within S (30)\n"
          "  --hold S        after the result line keep the port open up to S or until SIGTERM\n"
          "  --watch-pid P   generator: report P's CPU time (utime+stime) while sending\n"
          "  --sinks N       pair: number of sinks; every frame goes to each (1)\n"
          "  --mix MAC/N     generator: every N-th frame to MAC instead, not numbered\n"
          "                  (repeatable; the k-th share starts at frame k; --rate paces\n"
          "                  the numbered frames only)\n"
          "  --read-back     generator: take what its socket receives (broadcasts) now and\n"
          "                  then, so that it is no stuck receiver itself\n"
          "  --stall         sink: announce, then never read until --wait S or SIGTERM\n"
          "  --stall-after S sink: --stall, but read (and count) for S seconds first\n",
          kMinFrame);
}

double parse_number(std::string_view opt, const char* text, double lo, double hi) {
  char* end = nullptr;
  errno = 0;
  const double v = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !(v >= lo && v <= hi)) {
    die(std::string(opt) + ": '" + text + "' is not a number in range");
  }
  return v;
}

Options parse_args(int argc, char** argv) {
  Options o;
  if (argc < 2) {
    usage(stderr);
    exit(2);
  }
  int i = 1;
  o.role = argv[i++];
  if (o.role == "--help" || o.role == "-h") {
    usage(stdout);
    exit(0);
  }
  if (o.role == "send" || o.role == "recv") {
    if (i >= argc) die(o.role + " needs the switch directory or --iface IF");
    if (std::string_view(argv[i]) == "--iface") {
      if (++i >= argc) die("--iface needs an interface name");
      o.iface = argv[i++];
    } else {
      o.dir = argv[i++];
    }
  } else if (o.role != "pair") {
    usage(stderr);
    exit(2);
  }
  for (; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) die(std::string(a) + " needs a value");
      return argv[++i];
    };
    if (a == "--seconds") {
      o.seconds = parse_number(a, value(), 0.001, 1e6);
    } else if (a == "--size") {
      o.size = static_cast<size_t>(parse_number(a, value(), kMinFrame, kMaxFrame));
    } else if (a == "--batch") {
      o.batch = static_cast<unsigned>(parse_number(a, value(), 1, 1024));
    } else if (a == "--no-batch") {
      o.batched = false;
    } else if (a == "--rate") {
      o.rate = parse_number(a, value(), 0, 1e9);
    } else if (a == "--src" || a == "--dst") {
      const char* text = value();
      auto m = parse_mac(text);
      if (!m) die(std::string(a) + ": '" + text + "' is not a MAC address");
      (a == "--src" ? o.src : o.dst) = *m;
      if (a == "--src") o.src_given = true;
    } else if (a == "--mix") {
      const std::string_view text = value();
      const size_t slash = text.rfind('/');
      auto m = slash == std::string_view::npos ? std::nullopt : parse_mac(text.substr(0, slash));
      if (!m) die("--mix: '" + std::string(text) + "' is not MAC/N");
      const std::string n(text.substr(slash + 1));
      MixShare share{*m, static_cast<unsigned>(parse_number(a, n.c_str(), 2, 1e6)),
                     static_cast<unsigned>(o.mix.size())};
      o.mix.push_back(share);
    } else if (a == "--read-back") {
      o.read_back = true;
    } else if (a == "--stall") {
      o.stall = true;
    } else if (a == "--stall-after") {
      o.stall = true;
      o.stall_after = parse_number(a, value(), 0, 86400);
    } else if (a == "--broadcast") {
      o.dst.fill(0xff);
    } else if (a == "--id") {
      o.id = static_cast<uint32_t>(parse_number(a, value(), 0, 4294967295.0));
    } else if (a == "--announce") {
      o.announce = static_cast<unsigned>(parse_number(a, value(), 0, 1000));
    } else if (a == "--drain") {
      o.drain = parse_number(a, value(), 0.01, 3600);
    } else if (a == "--wait") {
      o.wait = parse_number(a, value(), 0.01, 86400);
    } else if (a == "--hold") {
      o.hold = parse_number(a, value(), 0, 86400);
    } else if (a == "--watch-pid") {
      o.watch_pid = static_cast<long>(parse_number(a, value(), 1, 4194304));
    } else if (a == "--sinks") {
      o.sinks = static_cast<unsigned>(parse_number(a, value(), 1, 64));
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      exit(0);
    } else {
      die("unknown option " + std::string(a) + " (see --help)");
    }
  }
  if (o.role == "recv" && !o.src_given) o.src = Mac{0x02, 0x76, 0x64, 0x65, 0x01, 0x01};
  return o;
}

// One end of a data path: a VDE connection or one socket of a bare pair.
struct Endpoint {
  int fd = -1;
  VDECONN* conn = nullptr;  // set for a VDE client: --no-batch then goes through libvdeplug
};

void set_timeouts(int fd) {
  // A timeout on every blocking call, so a stuck switch or a lost peer cannot hang us: the loop
  // looks at its deadline and at SIGTERM between attempts.
  timeval tv{0, kWakeUs};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0) {
    die_errno("setsockopt timeouts");
  }
}

Endpoint open_vde(const std::string& dir) {
  std::string url = dir;  // vde_open takes non-const strings
  char descr[] = "vdeload";
  vde_open_args args{};
  args.port = 0;
  args.group = nullptr;
  args.mode = 0700;
  // vde_open blocks in recv() with no timeout (Debian's vde_switch never answers some refusals),
  // so an alarm breaks it: the default SIGALRM action ends the process with a clear status.
  alarm(10);
  VDECONN* conn = vde_open(url.data(), descr, &args);
  alarm(0);
  if (!conn) die_errno("vde_open " + dir);
  Endpoint e{vde_datafd(conn), conn};
  set_timeouts(e.fd);
  return e;
}

// A packet socket on a host interface, carrying whole frames as a VDE connection does. The
// generator's binds no protocol, so it is given no copy of what it sends; the sink's takes
// only our ethertype.
Endpoint open_iface(const std::string& ifname, bool receiving) {
  const unsigned index = if_nametoindex(ifname.c_str());
  if (index == 0) die_errno("interface " + ifname);
  const uint16_t proto = receiving ? htons(kEthertype) : 0;
  const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, proto);
  if (fd < 0) die_errno("packet socket");
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = proto;
  sll.sll_ifindex = static_cast<int>(index);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) die_errno("bind " + ifname);
  if (receiving) {
    // Nothing paces what a veth delivers: with the default 208 KiB the sink behind the uplink
    // lost ~9 % of the frames at 64 bytes while it was not scheduled (bench/uplink_e2e.sh).
    const int bytes = 8 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) < 0) {
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    }
  }
  Endpoint e{fd, nullptr};
  set_timeouts(fd);
  return e;
}

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

void put32(uint8_t* p, uint32_t v) {
  memcpy(p, &v, 4);
}

uint32_t get32(const uint8_t* p) {
  uint32_t v = 0;
  memcpy(&v, p, 4);
  return v;
}

void put64(uint8_t* p, uint64_t v) {
  memcpy(p, &v, 8);
}

uint64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  memcpy(&v, p, 8);
  return v;
}

void build_frame(uint8_t* f, size_t size, const Mac& dst, const Mac& src, uint32_t magic,
                 uint32_t id) {
  memset(f, 0, size);
  memcpy(f, dst.data(), 6);
  memcpy(f + 6, src.data(), 6);
  put16(f + 12, kEthertype);
  put32(f + kEthHeader, magic);
  put32(f + kEthHeader + 4, id);
}

double cpu_self_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
  };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

// utime + stime of another process from /proc/PID/stat, in seconds; negative when unreadable.
double cpu_of(long pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  char buf[2048];
  const size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  // The command name in field 2 may hold spaces and parentheses: count fields after the last ')'.
  const char* p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long long utime = 0, stime = 0;
  int field = 2;
  for (const char* q = p + 1; *q; ++q) {
    if (*q != ' ') continue;
    ++field;
    if (field == 14) utime = strtoull(q + 1, nullptr, 10);
    if (field == 15) {
      stime = strtoull(q + 1, nullptr, 10);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Emits one line with a single write, so lines of forked sinks sharing stdout never interleave.
void emit(const std::string& line) {
  const std::string l = line + "\n";
  fflush(stdout);
  if (write(STDOUT_FILENO, l.data(), l.size()) < 0) {
    // Nothing sensible to do: the reader is gone.
  }
}

// " key=value" with `digits` decimals, for the result lines.
std::string kv(const char* key, double v, int digits) {
  char b[96];
  snprintf(b, sizeof b, " %s=%.*f", key, digits, v);
  return b;
}

// Hands all of msgs[0..n) to fd, blocking on the socket's back-pressure. Returns how many went
// before a stop, the hard deadline or an error (errors are counted in *errors).
unsigned send_all(const Endpoint& e, mmsghdr* msgs, unsigned n, bool batched, double hard_stop,
                  uint64_t* errors, int* last_errno) {
  unsigned done = 0;
  while (done < n) {
    int r = 0;
    if (batched) {
      r = sendmmsg(e.fd, msgs + done, n - done, 0);
    } else {
      const iovec& iov = msgs[done].msg_hdr.msg_iov[0];
      const ssize_t s = e.conn ? vde_send(e.conn, iov.iov_base, iov.iov_len, 0)
                               : send(e.fd, iov.iov_base, iov.iov_len, 0);
      r = s < 0 ? -1 : 1;
    }
    if (r > 0) {
      done += static_cast<unsigned>(r);
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ENOBUFS) {
      // The peer is not draining: wait for it, but not past the hard deadline.
      if (g_stop || now_s() > hard_stop) break;
      continue;
    }
    ++*errors;
    *last_errno = errno;
    break;
  }
  return done;
}

// Which --mix share frame k (counted from 0) belongs to, or nullptr for a data frame.
const MixShare* share_of(const Options& o, uint64_t k) {
  for (const MixShare& s : o.mix) {
    if (k % s.every == s.offset % s.every) return &s;
  }
  return nullptr;
}

// Takes every datagram waiting on fd without blocking, into a small buffer (the rest of each is
// discarded); returns how many.
uint64_t read_back(int fd) {
  constexpr unsigned kMsgs = 64;
  static std::array<std::array<uint8_t, 64>, kMsgs> junk;
  std::array<iovec, kMsgs> iov{};
  std::array<mmsghdr, kMsgs> msgs{};
  for (unsigned i = 0; i < kMsgs; ++i) {
    iov[i] = {junk[i].data(), junk[i].size()};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  uint64_t got = 0;
  for (;;) {
    const int n = recvmmsg(fd, msgs.data(), kMsgs, MSG_DONTWAIT, nullptr);
    if (n <= 0) return got;
    got += static_cast<uint64_t>(n);
  }
}

int run_generator(const Options& o, const std::vector<Endpoint>& eps) {
  const unsigned batch = o.batched ? o.batch : 1;
  std::vector<uint8_t> frames(static_cast<size_t>(batch) * o.size);
  std::vector<iovec> iov(batch);
  std::vector<mmsghdr> msgs(batch);
  for (unsigned i = 0; i < batch; ++i) {
    uint8_t* f = &frames[static_cast<size_t>(i) * o.size];
    build_frame(f, o.size, o.dst, o.src, kMagicData, o.id);
    iov[i] = {f, o.size};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  // Paced sends sleep between batches; the default 50 us timer slack would blur short gaps.
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

  uint64_t seq = 0, handed = 0, errors = 0;
  // With --mix, frames and data frames part: `frames` counts both, `seq` the data frames.
  uint64_t frames_done = 0, data_handed = 0, read_back_n = 0, batches = 0;
  // data_before[i]: how many of the batch's first i frames are data frames.
  std::vector<unsigned> data_before(batch + 1, 0);
  int last_errno = 0;
  const double cpu0 = o.watch_pid ? cpu_of(o.watch_pid) : -1;
  const double self0 = cpu_self_s();
  const double start = now_s();
  const double deadline = start + o.seconds;
  // A switch that stops draining may hold a blocked send this long past the deadline.
  const double hard_stop = deadline + 2;
  bool failed = false;
  while (!g_stop && !failed && now_s() < deadline) {
    if (o.rate > 0) {
      const double due = start + static_cast<double>(seq) / o.rate;
      const double wait = due - now_s();
      if (wait > 0) {
        sleep_s(wait);
        if (now_s() >= deadline) break;
      }
    }
    uint64_t next_seq = seq;
    for (unsigned i = 0; i < batch; ++i) {
      uint8_t* f = &frames[static_cast<size_t>(i) * o.size];
      data_before[i] = static_cast<unsigned>(next_seq - seq);
      const MixShare* share = o.mix.empty() ? nullptr : share_of(o, frames_done + i);
      if (share != nullptr) {
        memcpy(f, share->dst.data(), 6);
        put32(f + kEthHeader, kMagicFill);
        continue;
      }
      if (!o.mix.empty()) {
        memcpy(f, o.dst.data(), 6);
        put32(f + kEthHeader, kMagicData);
      }
      put64(f + kEthHeader + 8, next_seq++);
    }
    data_before[batch] = static_cast<unsigned>(next_seq - seq);
    // Every frame goes to every socket: one for a switch, one per sink on a bare pair (a flood
    // done by the sender itself, the least work any switch could do for it).
    for (const Endpoint& e : eps) {
      const unsigned n =
          send_all(e, msgs.data(), batch, o.batched, hard_stop, &errors, &last_errno);
      handed += n;
      data_handed += data_before[n];
      if (n < batch) failed = true;
    }
    seq = next_seq;
    frames_done += batch;
    if (o.read_back && ++batches % 8 == 0) {
      for (const Endpoint& e : eps)
        read_back_n += read_back(e.fd);
    }
  }
  const double elapsed = now_s() - start;
  const double cpu1 = o.watch_pid ? cpu_of(o.watch_pid) : -1;
  std::string line =
      "role=send sent=" + std::to_string(handed) + " frames=" + std::to_string(frames_done) +
      " data=" + std::to_string(seq) + " data_sent=" + std::to_string(data_handed) +
      " read_back=" + std::to_string(read_back_n) + kv("seconds", elapsed, 6) +
      kv("pps", static_cast<double>(handed) / elapsed, 0) + " errors=" + std::to_string(errors) +
      kv("cpu_self_s", cpu_self_s() - self0, 3);
  if (o.watch_pid) {
    line += kv("watch_cpu_s", (cpu0 < 0 || cpu1 < 0) ? -1.0 : cpu1 - cpu0, 3);
  }
  if (last_errno) line += std::string(" last_error=") + strerrorname_np(last_errno);
  emit(line);
  return errors ? 1 : 0;
}

// Counts each sequence number once, so a duplicate (a switch sending a frame twice) shows up.
class SeqSet {
 public:
  // True when seq was new.
  bool insert(uint64_t seq) {
    const size_t word = static_cast<size_t>(seq / 64);
    if (word >= bits_.size()) bits_.resize(std::max(word + 1, bits_.size() * 2), 0);
    const uint64_t bit = uint64_t{1} << (seq % 64);
    if (bits_[word] & bit) return false;
    bits_[word] |= bit;
    if (seq >= end_) end_ = seq + 1;
    return true;
  }

  // Runs of missing numbers below the highest one seen, and the longest: a few long gaps mean
  // stalls (a reader not scheduled), many short ones a steady overflow.
  void gaps(uint64_t* count, uint64_t* longest) const {
    *count = *longest = 0;
    uint64_t run = 0;
    for (uint64_t seq = 0; seq < end_; ++seq) {
      const bool have = bits_[static_cast<size_t>(seq / 64)] & (uint64_t{1} << (seq % 64));
      if (!have) {
        ++run;
        continue;
      }
      if (run > 0) ++*count;
      *longest = std::max(*longest, run);
      run = 0;
    }
  }

 private:
  std::vector<uint64_t> bits_;
  uint64_t end_ = 0;
};

// A client that stops reading: its socket fills and stays full, until SIGTERM or --wait.
int run_stalled(const Options& o) {
  const double start = now_s();
  while (!g_stop && now_s() - start < o.wait)
    sleep_s(kWakeUs * 1e-6);
  emit("role=stall" + kv("seconds", now_s() - start, 3));
  return 0;
}

int run_sink(const Options& o, const Endpoint& e) {
  // Tell a learning switch where our address lives, so the generator's frames to it are
  // learned unicast from the first one on.
  std::vector<uint8_t> hello(60);
  build_frame(hello.data(), hello.size(), Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, o.src,
              kMagicHello, o.id);
  for (unsigned i = 0; i < o.announce; ++i) {
    const ssize_t s = e.conn ? vde_send(e.conn, hello.data(), hello.size(), 0)
                             : send(e.fd, hello.data(), hello.size(), 0);
    if (s < 0) die_errno("announce");
  }
  emit("ready");
  if (o.stall && o.stall_after == 0) return run_stalled(o);

  const unsigned batch = o.batched ? o.batch : 1;
  std::vector<uint8_t> bufs(static_cast<size_t>(batch) * kMaxFrame);
  std::vector<iovec> iov(batch);
  std::vector<mmsghdr> msgs(batch);
  for (unsigned i = 0; i < batch; ++i) {
    iov[i] = {&bufs[static_cast<size_t>(i) * kMaxFrame], kMaxFrame};
    msgs[i] = {};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  SeqSet seen;
  uint64_t received = 0, dup = 0, other = 0, trunc = 0, errors = 0;
  const double self0 = cpu_self_s();
  const double start = now_s();
  double first = 0, last = 0;
  for (;;) {
    int n = 0;
    if (o.batched) {
      // MSG_WAITFORONE: block for the first datagram, then take what is queued without waiting.
      n = recvmmsg(e.fd, msgs.data(), batch, MSG_WAITFORONE, nullptr);
    } else {
      const ssize_t r = e.conn ? vde_recv(e.conn, iov[0].iov_base, kMaxFrame, 0)
                               : recv(e.fd, iov[0].iov_base, kMaxFrame, 0);
      if (r >= 0) {
        msgs[0].msg_len = static_cast<unsigned>(r);
        msgs[0].msg_hdr.msg_flags = 0;
        n = 1;
      } else {
        n = -1;
      }
    }
    const double t = now_s();
    // A client that read for a while, then stopped (whatever it had queued stays queued).
    if (o.stall && t - start > o.stall_after) return run_stalled(o);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      ++errors;
      fprintf(stderr, "vdeload: receive: %s\n", strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      const uint8_t* f = static_cast<const uint8_t*>(iov[static_cast<size_t>(i)].iov_base);
      const size_t len = msgs[static_cast<size_t>(i)].msg_len;
      if (msgs[static_cast<size_t>(i)].msg_hdr.msg_flags & MSG_TRUNC) ++trunc;
      if (len < kMinFrame || get32(f + kEthHeader) != kMagicData ||
          get32(f + kEthHeader + 4) != o.id) {
        ++other;  // another sink's announcement, or traffic that is not ours
        continue;
      }
      if (received + dup == 0) first = t;
      last = t;
      if (seen.insert(get64(f + kEthHeader + 8))) {
        ++received;
      } else {
        ++dup;
      }
    }
    if (g_stop) break;
    if (received + dup == 0) {
      if (t - start > o.wait) break;
    } else if (t - last > o.drain || t - first > o.seconds + o.drain) {
      break;
    }
  }
  uint64_t gaps = 0, longest = 0;
  seen.gaps(&gaps, &longest);
  emit("role=recv received=" + std::to_string(received) + " dup=" + std::to_string(dup) +
       " other=" + std::to_string(other) + " trunc=" + std::to_string(trunc) +
       kv("seconds", last - first, 6) + kv("cpu_self_s", cpu_self_s() - self0, 3) +
       " gaps=" + std::to_string(gaps) + " longest_gap=" + std::to_string(longest) +
       " errors=" + std::to_string(errors));
  return errors ? 1 : 0;
}

// Keeps the port (and its counters on the switch) alive until SIGTERM or the timeout.
void hold(double seconds) {
  const double until = now_s() + seconds;
  while (!g_stop && now_s() < until)
    sleep_s(kWakeUs * 1e-6);
}

// Two datagram sockets bound in dir and connected to each other, as a VDE switch and its client
// are; the names are unlinked at once (as vdeplug does), so nothing is left behind.
std::pair<int, int> make_pair_sockets(const std::string& dir, unsigned k) {
  int fds[2];
  sockaddr_un addr[2]{};
  for (int s = 0; s < 2; ++s) {
    fds[s] = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fds[s] < 0) die_errno("socket");
    addr[s].sun_family = AF_UNIX;
    const std::string path = dir + (s == 0 ? "/gen." : "/sink.") + std::to_string(k);
    if (path.size() >= sizeof addr[s].sun_path) die("path too long: " + path);
    memcpy(addr[s].sun_path, path.c_str(), path.size() + 1);
    if (bind(fds[s], reinterpret_cast<sockaddr*>(&addr[s]), sizeof addr[s]) < 0) {
      die_errno("bind " + path);
    }
  }
  for (int s = 0; s < 2; ++s) {
    if (connect(fds[s], reinterpret_cast<sockaddr*>(&addr[1 - s]), sizeof addr[1 - s]) < 0) {
      die_errno("connect");
    }
  }
  for (int s = 0; s < 2; ++s)
    unlink(addr[s].sun_path);
  set_timeouts(fds[0]);
  set_timeouts(fds[1]);
  return {fds[0], fds[1]};
}

int run_pair(Options o) {
  char tmpl[] = "/tmp/vdeload.XXXXXX";
  if (!mkdtemp(tmpl)) die_errno("mkdtemp");
  const std::string dir = tmpl;
  std::vector<Endpoint> gens;
  std::vector<int> sink_fds;
  for (unsigned k = 0; k < o.sinks; ++k) {
    auto [g, s] = make_pair_sockets(dir, k);
    gens.push_back({g, nullptr});
    sink_fds.push_back(s);
  }
  rmdir(dir.c_str());

  // Nobody needs to learn anything on a bare pair.
  Options so = o;
  so.announce = 0;
  std::vector<pid_t> kids;
  for (unsigned k = 0; k < o.sinks; ++k) {
    const pid_t pid = fork();
    if (pid < 0) die_errno("fork");
    if (pid == 0) {
      // A sink must not outlive the generator if the script kills only the parent.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() == 1) _exit(1);
      for (const Endpoint& g : gens)
        close(g.fd);
      for (unsigned j = 0; j < sink_fds.size(); ++j) {
        if (j != k) close(sink_fds[j]);
      }
      const int rc = run_sink(so, Endpoint{sink_fds[k], nullptr});
      fflush(stdout);
      _exit(rc);
    }
    kids.push_back(pid);
  }
  for (int s : sink_fds)
    close(s);

  int rc = run_generator(o, gens);
  for (const Endpoint& g : gens)
    close(g.fd);
  // The sinks end on their drain timer; past that they are stuck, and get killed.
  const double until = now_s() + o.drain + 5;
  size_t left = kids.size();
  while (left > 0) {
    for (pid_t& pid : kids) {
      if (pid <= 0) continue;
      int status = 0;
      const pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) rc = 1;
        pid = 0;
        --left;
      }
    }
    if (left == 0) break;
    if (now_s() > until) {
      for (pid_t pid : kids) {
        if (pid > 0) kill(pid, SIGKILL);
      }
      for (pid_t pid : kids) {
        if (pid > 0) waitpid(pid, nullptr, 0);
      }
      fprintf(stderr, "vdeload: a sink did not finish in time\n");
      return 1;
    }
    sleep_s(0.01);
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_args(argc, argv);
  if (o.size < kMinFrame) die("--size must be at least " + std::to_string(kMinFrame));

  // No SA_RESTART: SIGTERM must break a blocking send or receive at once.
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  // A sink that went away must show up as a send error, not kill the generator.
  signal(SIGPIPE, SIG_IGN);

  int rc = 0;
  if (o.role == "pair") {
    rc = run_pair(o);
  } else {
    const Endpoint e = o.iface.empty() ? open_vde(o.dir) : open_iface(o.iface, o.role == "recv");
    rc = o.role == "send" ? run_generator(o, {e}) : run_sink(o, e);
    if (o.hold > 0) hold(o.hold);
    if (e.conn) {
      vde_close(e.conn);
    } else {
      close(e.fd);
    }
  }
  return rc;
}
