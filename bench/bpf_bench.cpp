// What a capture's filter costs per frame, by engine: none, libpcap's interpreter bpf_filter(),
// and DPDK's librte_bpf on the same program converted to eBPF (rte_bpf_convert), interpreted
// (rte_bpf_exec) or compiled to x86 (rte_bpf_get_jit). Before measuring, every engine runs
// every filter on every frame of the mix and must agree: a fast engine that is wrong is no
// candidate. Odd filters are checked too (not measured) and their fate printed.
#include <benchmark/benchmark.h>
#include <pcap/pcap.h>
#include <rte_bpf.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "eal.hpp"
#include "frames.hpp"

namespace vswitch {
namespace {

using test::Bytes;

constexpr int kSnaplen = 262144;  // tcpdump's default; the accepting return value
constexpr size_t kBatch = 1024;   // frames per iteration, in a shuffled order

// The measured filters, and the bit each sets in a frame's `matches`.
constexpr std::array kFilters = {"udp port 53", "host 10.0.0.1 and tcp", "vlan 10 and ip",
                                 "ether src 52:54:00:00:00:01"};
constexpr uint8_t kUdp53 = 1, kHostTcp = 2, kVlan10 = 4, kEtherSrc = 8;

// Checked for agreement only: the instructions libpcap emits for them are the unusual ones
// (scratch memory, indexed loads, the frame length, division, negative immediates).
constexpr std::array kOddFilters = {
    "ip[2:2] > 100",
    "ether[12:2] = 0x0800",
    "vlan and vlan",
    "vlan 10 and vlan 30",
    "len > 100",
    "len / 4 > 20",
    "ip[2:2] / len = 0",
    "ip[2:2] % 7 = 2",
    "tcp[tcpflags] & tcp-syn != 0",
    "udp[8:4] = 0x76777879",
    "ether[0] & 1 = 1",
    "ether[100] = 0",
    "ether broadcast",
    "ip[16:4] = 0xffffffff",
    "host 192.168.1.1",
    "ip6 and tcp",
    "ip6 protochain 6",
    "not ip",
};

enum class Engine { none, pcap, rte_interpreted, rte_jit };
constexpr std::array kEngines = {Engine::none, Engine::pcap, Engine::rte_interpreted,
                                 Engine::rte_jit};
const char* name_of(Engine e) {
  static constexpr std::array kNames = {"none", "bpf_filter", "rte_bpf_exec", "rte_bpf_jit"};
  return kNames[static_cast<size_t>(e)];
}

// ---- Frames --------------------------------------------------------------------------------

MacAddr mac_of(const char* text) {
  return *MacAddr::parse(text);
}
const MacAddr kGuest1 = mac_of("52:54:00:00:00:01");
const MacAddr kGuest2 = mac_of("52:54:00:00:00:02");
const MacAddr kRouter = mac_of("52:54:00:00:00:fe");

constexpr uint8_t kTcp = 6, kUdp = 17;
constexpr uint8_t kSyn = 0x02, kAck = 0x10;

struct Flow {
  uint8_t proto = kUdp;
  uint16_t sport = 0, dport = 0;
  uint8_t tcp_flags = kAck;
};

// The transport header at `at`; the rest of the frame stays the counting payload.
void put_l4(Bytes& f, size_t at, const Flow& l4) {
  store_be16(f.data() + at, l4.sport);
  store_be16(f.data() + at + 2, l4.dport);
  if (l4.proto == kUdp) {
    store_be16(f.data() + at + 4, static_cast<uint16_t>(f.size() - at));
    store_be16(f.data() + at + 6, 0);
  } else {
    std::memset(f.data() + at + 4, 0, 16);
    f[at + 12] = 0x50;  // 20-byte header
    f[at + 13] = l4.tcp_flags;
  }
}

constexpr uint16_t kDontFragment = 0x4000;  // as Linux sends TCP and most UDP

size_t l4_size(const Flow& l4) {
  return l4.proto == kUdp ? 8 : 20;
}

// An IPv4 frame of `size` bytes (no FCS) or the least that holds its headers; `fragment` is the
// flags-and-offset word.
Bytes ipv4_frame(MacAddr src, const char* from, const char* to, Flow l4, size_t size,
                 uint16_t fragment = kDontFragment) {
  size = std::max(size, 34 + l4_size(l4));
  Bytes f = test::frame(kRouter, src, size - 14, 0x5a, 0x0800);
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  ip[1] = 0;
  store_be16(ip + 2, static_cast<uint16_t>(size - 14));
  store_be16(ip + 4, 0x1234);
  store_be16(ip + 6, fragment);
  ip[8] = 64;
  ip[9] = l4.proto;
  store_be16(ip + 10, 0);  // no filter here reads the checksum
  const uint32_t a = test::ipv4(from), b = test::ipv4(to);
  for (int i = 0; i < 4; ++i) {
    ip[12 + i] = static_cast<uint8_t>(a >> (24 - 8 * i));
    ip[16 + i] = static_cast<uint8_t>(b >> (24 - 8 * i));
  }
  put_l4(f, 34, l4);
  return f;
}

// An IPv6 frame between fd00::1 and fd00::2, at least as long as its headers.
Bytes ipv6_frame(MacAddr src, Flow l4, size_t size) {
  size = std::max(size, 54 + l4_size(l4));
  Bytes f = test::frame(kRouter, src, size - 14, 0x5a, 0x86dd);
  uint8_t* ip = f.data() + 14;
  std::memset(ip, 0, 40);
  ip[0] = 0x60;
  store_be16(ip + 4, static_cast<uint16_t>(size - 54));
  ip[6] = l4.proto;
  ip[7] = 64;
  ip[8] = ip[24] = 0xfd;
  ip[23] = 1;
  ip[39] = 2;
  put_l4(f, 54, l4);
  return f;
}

Bytes to_broadcast(Bytes f) {
  test::kBroadcast.to_bytes(f.data());
  return f;
}

Bytes padded(Bytes f, size_t size) {
  f.resize(std::max(f.size(), size), 0);
  return f;
}

struct Sample {
  const char* what;
  Bytes bytes;
  uint8_t matches;  // which of kFilters accept it
};

// A LAN's mix: DNS both ways, TCP to and from the watched host, other traffic, a broadcast,
// addresses above 128.0.0.0, tagged frames, ARP, IPv6 and a non-first fragment (whose bytes at
// the UDP port say 53 but are payload). Most IPv4 says don't-fragment, some does not: an engine
// that mixes up the flags word with a header length shows on those.
// `size` is the frame without FCS: 60 for the minimum (64 on the wire) or 1514.
std::vector<Sample> mix(size_t size) {
  // Big tagged frames keep the size asked, tags included; small ones grow by their tags.
  const size_t tag = size > 60 ? size - 4 : size, qinq = size > 60 ? size - 8 : size;
  const Flow dns{kUdp, 40000, 53}, dns_reply{kUdp, 53, 40000}, web{kTcp, 40001, 80},
      tls{kTcp, 40002, 443, kSyn}, other_udp{kUdp, 5000, 5001};
  std::vector<Sample> s = {
      {"dns query", ipv4_frame(kGuest1, "10.0.0.1", "10.0.0.53", dns, size), kUdp53 | kEtherSrc},
      {"dns reply, no DF", ipv4_frame(kRouter, "10.0.0.53", "10.0.0.2", dns_reply, size, 0),
       kUdp53},
      {"tcp from host", ipv4_frame(kGuest1, "10.0.0.1", "10.0.0.9", web, size),
       kHostTcp | kEtherSrc},
      {"tcp to host", ipv4_frame(kGuest2, "10.0.0.9", "10.0.0.1", tls, size), kHostTcp},
      {"tcp elsewhere", ipv4_frame(kGuest2, "10.0.0.3", "10.0.0.4", tls, size), 0},
      {"tcp syn, no DF", ipv4_frame(kGuest2, "10.0.0.3", "10.0.0.4", tls, size, 0), 0},
      {"udp elsewhere", ipv4_frame(kGuest2, "10.0.0.5", "10.0.0.6", other_udp, size), 0},
      {"udp from host", ipv4_frame(kGuest2, "10.0.0.1", "10.0.0.6", other_udp, size), 0},
      {"dhcp discover",
       to_broadcast(ipv4_frame(kGuest2, "0.0.0.0", "255.255.255.255", {kUdp, 68, 67}, size)), 0},
      {"tcp on 192.168", ipv4_frame(kGuest2, "192.168.1.1", "192.168.1.20", web, size), 0},
      {"fragment", ipv4_frame(kGuest2, "10.0.0.7", "10.0.0.8", dns, size, 0x00b9), 0},
      {"vlan 10 dns", test::tagged(ipv4_frame(kGuest2, "10.0.0.1", "10.0.0.53", dns, tag), 10),
       kVlan10},
      {"vlan 20 tcp", test::tagged(ipv4_frame(kGuest2, "10.0.0.1", "10.0.0.9", web, tag), 20), 0},
      {"qinq 10/30 tcp",
       test::tagged(test::tagged(ipv4_frame(kGuest2, "10.0.0.1", "10.0.0.9", web, qinq), 30), 10),
       0},
      {"arp", padded(test::arp_request(kGuest1, {10, 0, 0, 1}, {10, 0, 0, 9}), size), kEtherSrc},
      {"ipv6 dns", ipv6_frame(kGuest2, dns, size), kUdp53},
      {"ipv6 tcp syn", ipv6_frame(kGuest2, {kTcp, 40003, 22, kSyn}, size), 0},
  };
  return s;
}

// ---- Filters -------------------------------------------------------------------------------

// One tcpdump expression, as libpcap's program and, when DPDK takes it, as librte_bpf's.
class Filter {
 public:
  explicit Filter(const char* expression) : expression_(expression) {
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, kSnaplen);
    compiled_ = pcap_compile(dead, &program_, expression, 1, PCAP_NETMASK_UNKNOWN) == 0;
    if (!compiled_) why_ = std::string("pcap_compile: ") + pcap_geterr(dead);
    pcap_close(dead);
    if (!compiled_) return;
    rte_bpf_prm* prm = rte_bpf_convert(&program_);
    if (prm == nullptr) {
      why_ = std::string("rte_bpf_convert: ") + rte_strerror(rte_errno);
      return;
    }
    bpf_ = rte_bpf_load(prm);  // copies the instructions, so prm can go at once
    const int load_errno = rte_errno;
    rte_free(prm);
    if (bpf_ == nullptr) {
      why_ = std::string("rte_bpf_load: ") + rte_strerror(load_errno);
      return;
    }
    rte_bpf_jit jit{};
    if (rte_bpf_get_jit(bpf_, &jit) == 0 && jit.func != nullptr)
      jit_ = jit.func;
    else
      why_ = "no JIT code";
  }
  ~Filter() {
    if (bpf_ != nullptr) rte_bpf_destroy(bpf_);
    if (compiled_) pcap_freecode(&program_);
  }
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;

  // Whether `engine` can run this filter at all.
  bool runs_on(Engine e) const {
    switch (e) {
      case Engine::none:
        return true;
      case Engine::pcap:
        return compiled_;
      case Engine::rte_interpreted:
        return bpf_ != nullptr;
      case Engine::rte_jit:
        return jit_ != nullptr;
    }
    return false;
  }

  // The verdict as vswitchd would ask for it: libpcap sees the first segment's bytes and the
  // frame's length, librte_bpf the mbuf itself (its loads read across segments).
  bool accepts(Engine e, rte_mbuf* m) const {
    switch (e) {
      case Engine::none:
        return true;
      case Engine::pcap:
        return bpf_filter(program_.bf_insns, rte_pktmbuf_mtod(m, const u_char*), m->pkt_len,
                          m->data_len) != 0;
      case Engine::rte_interpreted:
        return rte_bpf_exec(bpf_, m) != 0;
      case Engine::rte_jit:
        return jit_(m) != 0;
    }
    return false;
  }

  const char* expression() const { return expression_; }
  const std::string& why() const { return why_; }
  unsigned pcap_instructions() const { return compiled_ ? program_.bf_len : 0; }

 private:
  const char* expression_;
  bpf_program program_{};
  bool compiled_ = false;
  rte_bpf* bpf_ = nullptr;
  uint64_t (*jit_)(void*) = nullptr;
  std::string why_;  // what stopped an engine, empty when all run it
};

// ---- Mbufs ---------------------------------------------------------------------------------

struct Frames {
  std::vector<Sample> samples;
  std::vector<rte_mbuf*> mbufs;  // one per sample
  std::vector<rte_mbuf*> batch;  // kBatch of them, shuffled, for the measurement
};

Frames load_frames(size_t size) {
  Frames fr;
  fr.samples = mix(size);
  for (const Sample& s : fr.samples) {
    rte_mbuf* m = rte_pktmbuf_alloc(test::test_pool());
    if (m == nullptr) {
      fprintf(stderr, "bpf_bench: mbuf pool exhausted\n");
      std::abort();
    }
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(s.bytes.size())), s.bytes.data(),
                s.bytes.size());
    fr.mbufs.push_back(m);
  }
  // Every sample equally often, in an order no branch predictor learns over one batch.
  for (size_t i = 0; i < kBatch; ++i)
    fr.batch.push_back(fr.mbufs[i % fr.mbufs.size()]);
  std::shuffle(fr.batch.begin(), fr.batch.end(), std::mt19937(42));
  return fr;
}

// ---- Agreement -----------------------------------------------------------------------------

// How many frames `engine` judges otherwise than bpf_filter(); prints each of them.
int disagreements(const Filter& f, Engine e, const std::vector<Frames>& sizes) {
  int wrong = 0;
  for (const Frames& fr : sizes) {
    for (size_t i = 0; i < fr.mbufs.size(); ++i) {
      const bool reference = f.accepts(Engine::pcap, fr.mbufs[i]);
      if (f.accepts(e, fr.mbufs[i]) == reference) continue;
      fprintf(stderr, "  '%s' on %s (%zu bytes): bpf_filter says %d, %s says %d\n", f.expression(),
              fr.samples[i].what, fr.samples[i].bytes.size(), reference, name_of(e), !reference);
      ++wrong;
    }
  }
  return wrong;
}

// The measured filters must run on every engine, agree with one another and with what the mix
// says of each frame; anything else aborts, as no figure would mean anything.
void check_measured(const std::vector<std::unique_ptr<Filter>>& filters,
                    const std::vector<Frames>& sizes) {
  bool ok = true;
  for (size_t k = 0; k < filters.size(); ++k) {
    const Filter& f = *filters[k];
    if (!f.runs_on(Engine::rte_jit)) {
      fprintf(stderr, "bpf_bench: '%s' does not run everywhere: %s\n", f.expression(),
              f.why().c_str());
      ok = false;
      continue;
    }
    ok &= disagreements(f, Engine::rte_interpreted, sizes) == 0;
    ok &= disagreements(f, Engine::rte_jit, sizes) == 0;
    for (const Frames& fr : sizes) {
      for (size_t i = 0; i < fr.mbufs.size(); ++i) {
        const bool expected = (fr.samples[i].matches >> k & 1) != 0;
        if (f.accepts(Engine::pcap, fr.mbufs[i]) == expected) continue;
        fprintf(stderr, "bpf_bench: '%s' on %s (%zu bytes): expected %d\n", f.expression(),
                fr.samples[i].what, fr.samples[i].bytes.size(), expected);
        ok = false;
      }
    }
  }
  if (!ok) {
    fprintf(stderr, "bpf_bench: engines disagree, nothing measured\n");
    std::abort();
  }
}

// What `engine` makes of an odd filter over the whole mix, found in a child process: some
// programs crash an engine, and that is to be reported, not to end the check.
std::string verdicts(const Filter& f, Engine e, const std::vector<Frames>& sizes) {
  if (!f.runs_on(e)) return "-";
  fflush(nullptr);
  const pid_t child = fork();
  if (child == 0) _exit(std::min(disagreements(f, e, sizes), 100));
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) != child) return "fork failed";
  if (WIFSIGNALED(status)) return std::string("crash: ") + strsignal(WTERMSIG(status));
  const int wrong = WEXITSTATUS(status);
  return wrong == 0 ? "agrees" : std::to_string(wrong) + " wrong";
}

// The odd filters' fate, one line each, on stdout before the figures.
void report_odd(const std::vector<Frames>& sizes) {
  size_t frames = 0;
  for (const Frames& fr : sizes)
    frames += fr.mbufs.size();
  printf("%-34s %4s %8s  %-14s %-14s %s\n", "odd filter", "cBPF", "accepted", "rte_bpf_exec",
         "rte_bpf_jit", "why not");
  for (const char* expression : kOddFilters) {
    const Filter f(expression);
    int accepted = 0;
    for (const Frames& fr : sizes)
      for (rte_mbuf* m : fr.mbufs)
        accepted += f.runs_on(Engine::pcap) && f.accepts(Engine::pcap, m);
    printf("%-34s %4u %4d/%-3zu  %-14s %-14s %s\n", expression, f.pcap_instructions(), accepted,
           frames, verdicts(f, Engine::rte_interpreted, sizes).c_str(),
           verdicts(f, Engine::rte_jit, sizes).c_str(), f.why().c_str());
  }
  fflush(stdout);
}

// ---- Measurement ---------------------------------------------------------------------------

void run(benchmark::State& state, const Filter& f, Engine e, const Frames& fr) {
  uint64_t frames = 0, accepted = 0;
  for (auto _ : state) {
    for (rte_mbuf* m : fr.batch)
      accepted += f.accepts(e, m);
    frames += fr.batch.size();
    benchmark::DoNotOptimize(accepted);
  }
  state.SetItemsProcessed(static_cast<int64_t>(frames));
  // Seconds per frame, which Google Benchmark prints with its unit prefix ("8.4n").
  state.counters["per_frame"] = benchmark::Counter(
      static_cast<double>(frames), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["accepted"] = static_cast<double>(accepted) / static_cast<double>(frames);
}

}  // namespace
}  // namespace vswitch

int main(int argc, char** argv) {
  using namespace vswitch;
  if (!test::start_eal() || test::test_pool() == nullptr) return 1;
  benchmark::Initialize(&argc, argv);

  static const std::vector<Frames> sizes = {load_frames(60), load_frames(1514)};
  static std::vector<std::unique_ptr<Filter>> filters;
  for (const char* expression : kFilters)
    filters.push_back(std::make_unique<Filter>(expression));
  check_measured(filters, sizes);
  report_odd(sizes);

  for (const auto& f : filters) {
    for (Engine e : kEngines) {
      // Without a filter the expression does not matter: that loop is measured once.
      if (e == Engine::none && f != filters.front()) continue;
      for (const Frames& fr : sizes) {
        // Named by the minimum's size on the wire, FCS included, as the other benches do.
        const size_t wire = fr.samples[0].bytes.size() == 60 ? 64 : fr.samples[0].bytes.size();
        const std::string what = e == Engine::none ? "(no filter)" : f->expression();
        const std::string name = "bpf/" + what + "/" + name_of(e) + "/" + std::to_string(wire);
        benchmark::RegisterBenchmark(name.c_str(),
                                     [&f, e, &fr](benchmark::State& st) { run(st, *f, e, fr); });
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  filters.clear();
  return 0;
}
