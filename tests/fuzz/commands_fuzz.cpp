// The control commands (what vswitchctl sends) on a running daemon: each input line is a
// request, either a control-socket JSON line for Commands::serve() or words for
// Commands::run(). Every reply must say ok or why not, and its value must survive its own JSON.
// Paths written @/NAME are in the harness's temporary directory (see fuzz_daemon.hpp).
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "fuzz_daemon.hpp"
#include "require.hpp"
#include "value.hpp"

namespace vswitch::fuzz {
namespace {

constexpr size_t kMaxLines = 64;

void check_value(const daemon::Value& v) {
  const std::string json = v.json();
  const auto back = daemon::Value::parse_json(json);
  require(back.has_value(), "a reply's JSON parses");
  require(back->json() == json, "a reply's JSON reads back the same");
  (void)v.text();
}

void request(FuzzDaemon& d, const std::string& line) {
  daemon::Commands& commands = d.daemon->commands();
  if (line.starts_with('{')) {
    std::vector<std::string> args;
    if (auto req = daemon::Value::parse_json(line)) {
      if (const daemon::Value* a = req->get("args"); a && a->is_array()) {
        for (const daemon::Value& w : a->items())
          args.push_back(w.as_string());
      }
    }
    if (!allowed(d, args)) return;
    const std::string reply = commands.serve(line).bytes;
    require(reply.starts_with("ok\n") || reply.starts_with("error\n"), "a reply says ok or error");
    return;
  }
  std::istringstream in(line);
  std::vector<std::string> args;
  for (std::string w; in >> w;)
    args.push_back(w);
  if (!allowed(d, args)) return;
  const daemon::Reply r = commands.run(args);
  require(r.ok || !r.error.empty(), "a refusal says why");
  if (r.ok) check_value(r.body);
}

}  // namespace
}  // namespace vswitch::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vswitch::fuzz;
  FuzzDaemon& d = fuzz_daemon();
  restore_ports(d);
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (size_t n = 0; n < kMaxLines && !text.empty(); ++n) {
    const size_t nl = text.find('\n');
    request(d, in_dir(d, std::string(text.substr(0, nl))));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }
  return 0;
}
