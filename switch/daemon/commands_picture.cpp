// `metrics` and `show --dot`: replies in a format of their own (the Prometheus text, Graphviz),
// sent as they are after the "ok" line, whatever format the client asked for.
#include "commands.hpp"
#include "daemon.hpp"
#include "metrics_text.hpp"
#include "topology_dot.hpp"
#include "vswitch/error.hpp"

namespace vswitch::daemon {

namespace {

// A reply whole from the start, handed out in pieces as the client reads.
class WholeText final : public Stream {
 public:
  explicit WholeText(std::string text) : text_(std::move(text)) {}
  bool pull(std::string& out, size_t room) override {
    const size_t n = std::min(room, text_.size() - sent_);
    out.append(text_, sent_, n);
    sent_ += n;
    return sent_ < text_.size();
  }
  void stop() override { sent_ = text_.size(); }

 private:
  std::string text_;
  size_t sent_ = 0;
};

Reply whole_text(std::string text) {
  return Reply{true, Value(), {}, std::make_shared<WholeText>(std::move(text))};
}

}  // namespace

Reply Commands::metrics(const Args& args) {
  if (args.size() > 1) throw ConfigError("usage: metrics");
  return whole_text(metrics_text(daemon_.engine()));
}

Reply Commands::show_dot(const Args& args) {
  if (args.size() > 2) throw ConfigError("usage: show --dot");
  return whole_text(topology_dot(daemon_.engine()));
}

}  // namespace vswitch::daemon
