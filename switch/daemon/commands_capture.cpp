// `capture`: a pcapng stream of some ports' frames, for as long as the client reads it.
#include <algorithm>
#include <stdexcept>

#include "capture/capture_session.hpp"
#include "capture/capture_writer.hpp"
#include "commands.hpp"
#include "daemon.hpp"
#include "spec.hpp"
#include "vswitch/error.hpp"
#include "vswitch/log.hpp"

namespace vswitch::daemon {

namespace {

constexpr const char* kCaptureUsage =
    "capture PORT[,PORT...] [--direction in|out|both|none] [--drops] [--filter EXPR] "
    "[--count N] [--snaplen N]";

// The session as the control socket's stream: its pcapng, then its statistics at the end.
class CaptureStream final : public Stream {
 public:
  explicit CaptureStream(std::unique_ptr<capture::CaptureSession> session, std::string what)
      : session_(std::move(session)), what_(std::move(what)) {}

  // Destroyed on the datapath's thread: the writer stops before the taps go.
  ~CaptureStream() override {
    writer_.reset();
    report();
  }

  bool pull(std::string& out, size_t) override {
    if (finished_) return false;
    if (writer_) return pull_written();
    session_->drain(out);
    if (!session_->ended()) return true;
    session_->finish(out);
    finished_ = true;
    return false;
  }
  void stop() override { session_->stop(); }
  bool write_to(int socket) override {
    writer_ = std::make_unique<capture::CaptureWriter>(*session_, socket, session_->header());
    return true;
  }

 private:
  void report() {
    uint64_t lost = 0;
    for (const auto& p : session_->stats())
      lost += p.lost;
    log(lost ? LogLevel::warn : LogLevel::info,
        "capture of %s ended: %lu frames, %lu lost by the capture (it could not keep up)",
        what_.c_str(), static_cast<unsigned long>(session_->captured()),
        static_cast<unsigned long>(lost));
  }

  // What the writer thread has not yet been given, given; done once it has written it all.
  bool pull_written() {
    session_->seal();
    if (session_->ended() && !tail_given_) {
      std::string tail;
      session_->finish(tail);
      writer_->end(std::move(tail));
      tail_given_ = true;
    }
    if (const uint64_t readied = session_->chunks_readied(); readied != woken_at_ || tail_given_) {
      woken_at_ = readied;
      writer_->wake();
    }
    if (writer_->failed()) session_->stop();
    finished_ = writer_->done();
    return !finished_;
  }

  std::unique_ptr<capture::CaptureSession> session_;
  std::unique_ptr<capture::CaptureWriter> writer_;
  bool tail_given_ = false;
  uint64_t woken_at_ = 0;  // chunks readied when the writer was last woken
  std::string what_;
  bool finished_ = false;
};

void set_direction(capture::CaptureOptions& o, const std::string& d) {
  if (d != "in" && d != "out" && d != "both" && d != "none") {
    throw ConfigError("--direction is in, out, both or none, not '" + d + "'");
  }
  o.received = d == "in" || d == "both";
  o.sent = d == "out" || d == "both";
}

capture::CaptureOptions capture_options(const Commands::Args& args, size_t from) {
  capture::CaptureOptions o;
  for (size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw ConfigError(a + " needs a value");
      return args[++i];
    };
    if (a == "--direction") {
      set_direction(o, value());
    } else if (a == "--drops") {
      o.drops = true;
    } else if (a == "--filter") {
      o.filter = value();
    } else if (a == "--count") {
      o.count = parse_uint("--count", value(), 1, UINT32_MAX);
    } else if (a == "--snaplen") {
      o.snaplen = static_cast<uint32_t>(parse_uint("--snaplen", value(), 64, 262144));
    } else {
      throw ConfigError(std::string("'") + a +
                        "' is not an option of capture; usage: " + kCaptureUsage);
    }
  }
  if (!o.received && !o.sent && !o.drops) {
    throw ConfigError("--direction none captures nothing without --drops");
  }
  return o;
}

}  // namespace

Reply Commands::capture(const Args& args) {
  need(args, 2, kCaptureUsage);
  capture::CaptureOptions options = capture_options(args, 2);
  std::vector<capture::CapturedPort> ports;
  for (const std::string& name : port_name_list(args[1])) {
    auto ref = daemon_.engine().find_port(name);
    if (!ref) throw ConfigError("no port named " + name);
    const Port& p = *ref->segment->port(ref->id);
    ports.push_back({ref->segment, ref->id, p.name(),
                     std::string(p.kind()) + " port in segment " + ref->segment->name()});
  }
  std::unique_ptr<capture::CaptureSession> session;
  try {
    session = std::make_unique<capture::CaptureSession>(std::move(ports), std::move(options));
  } catch (const std::invalid_argument& e) {
    throw ConfigError(e.what());
  }
  log(LogLevel::info, "capture of %s started", args[1].c_str());
  Reply r;
  r.stream = std::make_shared<CaptureStream>(std::move(session), args[1]);
  return r;
}

}  // namespace vswitch::daemon
