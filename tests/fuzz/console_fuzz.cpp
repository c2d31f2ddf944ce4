// The vde_switch console (-M, -f) on a running daemon: each input line is a console command,
// or, after "ctl ", a control command run between them, as vswitchctl may while a console
// session is open. Every console reply ends in one of vde_switch's status lines.
// Paths written @/NAME are in the harness's temporary directory (see fuzz_daemon.hpp).
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "fuzz_daemon.hpp"
#include "require.hpp"

namespace vswitch::fuzz {
namespace {

constexpr size_t kMaxLines = 64;

bool blank_or_comment(const std::string& line) {
  std::istringstream in(line);
  std::string first;
  return !(in >> first) || first[0] == '#';
}

void check_reply(const std::string& line, const std::string& reply) {
  if (reply.empty()) {
    require(blank_or_comment(line), "only a blank line or a comment has no reply");
    return;
  }
  require(reply.back() == '\n', "a reply ends its last line");
  const size_t start = reply.rfind('\n', reply.size() - 2);
  const std::string status = reply.substr(start == std::string::npos ? 0 : start + 1);
  const bool ok = status == "1000 Success\n" || status == "9999 END OF SESSION\n" ||
                  (status.size() > 5 && status[0] == '1' && status[4] == ' ');
  require(ok, "a reply ends with a status line");
}

void line(FuzzDaemon& d, const std::string& text) {
  if (text.starts_with("ctl ")) {
    std::istringstream in(text.substr(4));
    std::vector<std::string> args;
    for (std::string w; in >> w;)
      args.push_back(w);
    if (allowed(d, args)) d.daemon->commands().run(args);
    return;
  }
  bool end = false;
  check_reply(text, d.console->execute(text, &end));
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
    line(d, in_dir(d, std::string(text.substr(0, nl))));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }
  return 0;
}
