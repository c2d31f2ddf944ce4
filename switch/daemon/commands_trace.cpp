// `trace`: why did this frame go there? The next frames entering a port, each stage's decision
// told as it happens (a stream), or one synthetic frame run through the pipeline without
// sending it, answered at once.
#include <rte_mbuf.h>

#include <cstring>
#include <stdexcept>

#include "commands.hpp"
#include "daemon.hpp"
#include "spec.hpp"
#include "trace_session.hpp"
#include "vswitch/error.hpp"
#include "vswitch/log.hpp"

namespace vswitch::daemon {

namespace {

constexpr const char* kTraceUsage =
    "trace PORT [--count N] [--filter EXPR] [--json] | trace --synthetic PORT FRAME-HEX [--json]";
// The most a synthetic frame may hold: a jumbo frame with two tags.
constexpr size_t kMaxSyntheticFrame = kMaxMtu + kEtherHeaderLen + 2 * kVlanTagLen;

class TraceStream final : public Stream {
 public:
  TraceStream(std::unique_ptr<TraceSession> session, std::string port)
      : session_(std::move(session)), port_(std::move(port)) {}
  ~TraceStream() override {
    log(session_->lost() ? LogLevel::warn : LogLevel::info,
        "trace of %s ended: %lu frames, %lu lost by the trace (its client did not keep up)",
        port_.c_str(), static_cast<unsigned long>(session_->told()),
        static_cast<unsigned long>(session_->lost()));
  }

  bool pull(std::string& out, size_t) override {
    session_->drain(out);
    return !session_->ended();
  }
  void stop() override { session_->stop(); }

 private:
  std::unique_ptr<TraceSession> session_;
  std::string port_;
};

std::vector<uint8_t> parse_hex(const std::string& text) {
  std::vector<uint8_t> bytes;
  int high = -1;
  for (char c : text) {
    // Separators as tcpdump -xx, Wireshark's "copy as hex" and MAC addresses write them.
    if (c == ':' || c == '-' || c == ' ' || c == '.') continue;
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      throw ConfigError(std::string("FRAME-HEX has a '") + c + "', which is not a hex digit");
    }
    if (high < 0) {
      high = v;
    } else {
      bytes.push_back(static_cast<uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  if (high >= 0) throw ConfigError("FRAME-HEX has an odd number of hex digits");
  if (bytes.empty()) throw ConfigError("FRAME-HEX holds no byte");
  if (bytes.size() > kMaxSyntheticFrame) {
    throw ConfigError("a frame of " + std::to_string(bytes.size()) + " bytes is over the " +
                      std::to_string(kMaxSyntheticFrame) + " any port takes");
  }
  return bytes;
}

// The frame in a chain of mbufs from the pool; null when the pool has none left.
rte_mbuf* frame_mbuf(rte_mempool* pool, const std::vector<uint8_t>& bytes) {
  rte_mbuf* head = nullptr;
  for (size_t at = 0; at < bytes.size();) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr || (head != nullptr && rte_pktmbuf_chain(head, m) != 0)) {
      if (m != nullptr) rte_pktmbuf_free(m);
      if (head != nullptr) rte_pktmbuf_free(head);
      return nullptr;
    }
    if (head == nullptr) head = m;
    const auto n =
        static_cast<uint16_t>(std::min<size_t>(rte_pktmbuf_tailroom(m), bytes.size() - at));
    std::memcpy(rte_pktmbuf_append(m, n), bytes.data() + at, n);
    at += n;
  }
  return head;
}

}  // namespace

Reply Commands::trace(const Args& args) {
  need(args, 2, kTraceUsage);
  TraceOptions options;
  bool synthetic = false;
  std::vector<std::string> positional;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw ConfigError(a + " needs a value");
      return args[++i];
    };
    if (a == "--synthetic") {
      synthetic = true;
    } else if (a == "--count") {
      options.count = parse_uint("--count", value(), 1, UINT32_MAX);
    } else if (a == "--filter") {
      options.filter = value();
    } else if (a == "--json") {
      options.json = true;
    } else if (a.size() > 1 && a.rfind("--", 0) == 0) {
      throw ConfigError("'" + a + "' is not an option of trace; usage: " + kTraceUsage);
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != (synthetic ? 2u : 1u)) {
    throw ConfigError(std::string("usage: ") + kTraceUsage);
  }
  auto ref = daemon_.engine().find_port(positional[0]);
  if (!ref) throw ConfigError("no port named " + positional[0]);
  Segment& seg = *ref->segment;

  if (synthetic) {
    const std::vector<uint8_t> bytes = parse_hex(positional[1]);
    rte_mbuf* m = frame_mbuf(daemon_.pool(), bytes);
    if (m == nullptr) throw ConfigError("no mbuf left for the synthetic frame; try again");
    const FrameTrace t = seg.explain(ref->id, m, daemon_.engine().now_ms());
    rte_pktmbuf_free(m);
    if (options.json) return Reply{true, trace_value(t), {}, nullptr};
    std::string text = t.text();
    text.pop_back();  // the reply's text adds its own newline
    return Reply{true, Value(std::move(text)), {}, nullptr};
  }

  std::unique_ptr<TraceSession> session;
  try {
    session = std::make_unique<TraceSession>(seg, ref->id, std::move(options));
  } catch (const std::invalid_argument& e) {
    throw ConfigError(e.what());
  }
  log(LogLevel::info, "trace of %s started", positional[0].c_str());
  Reply r;
  r.stream = std::make_shared<TraceStream>(std::move(session), positional[0]);
  return r;
}

}  // namespace vswitch::daemon
