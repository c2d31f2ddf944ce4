// vswitchd's command line and config file, as a user (or a script) may write them:
// parse_options() on an argv and a --config file made of arbitrary bytes. It must never throw,
// and what it lets through to start-up must be specs that parse.
//
// Input: the arguments, separated by NUL bytes; then, after a 0x01 byte, the config file, which
// the harness writes to tmpfs and names with --config.
//
// Boost 1.74 hangs formatting an error about a value that contains `%value%`: run with -timeout.
#include <unistd.h>

#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "options.hpp"
#include "require.hpp"

namespace vswitch::fuzz {
namespace {

// Removed as soon as parse_options() has read it: a run ended by a finding leaves none behind,
// unless it hung in the parse.
const std::string& config_path() {
  static const std::string path =
      "/dev/shm/vswitch-fuzz-options." + std::to_string(getpid()) + ".conf";
  return path;
}

// --config (or a prefix Boost would take for it) naming some other file could make the
// parser read /dev/zero or a pipe forever; the harness's own file is the only config.
bool names_config(std::string_view word) {
  const std::string_view flag = word.substr(0, word.find('='));
  return flag.size() >= 6 && std::string_view("--config").starts_with(flag);
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t cut = text.find(sep);
    out.emplace_back(text.substr(0, cut));
    text = cut == std::string_view::npos ? std::string_view{} : text.substr(cut + 1);
  }
  return out;
}

void check(const daemon::Options& o) {
  if (o.action == daemon::Options::Action::exit) {
    require(!o.message.empty(), "an exit says why");
    require(o.exit_status == 0 || o.exit_status == 2, "exit status 0 or 2");
    return;
  }
  const daemon::DaemonConfig& c = o.config;
  require(!c.ports.empty(), "at least the default VDE port");
  require(c.mbufs > 0, "an mbuf pool");
  try {
    for (const auto& s : c.segments)
      daemon::parse_segment_spec(s);
    for (const auto& p : c.ports)
      daemon::parse_port_spec(p);
  } catch (const ConfigError& e) {
    fprintf(stderr, "%s\n", e.what());
    require(false, "specs let through to start-up parse");
  }
}

}  // namespace
}  // namespace vswitch::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vswitch::fuzz;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t cut = input.find('\x01');
  std::vector<std::string> words = split(input.substr(0, cut), '\0');
  for (const auto& w : words) {
    if (names_config(w)) return 0;
  }
  if (cut != std::string_view::npos) {
    std::ofstream(config_path(), std::ios::binary | std::ios::trunc) << input.substr(cut + 1);
    words.push_back("--config=" + config_path());
  }
  std::vector<const char*> argv{"vswitchd"};
  for (const auto& w : words)
    argv.push_back(w.c_str());
  argv.push_back(nullptr);
  const auto options =
      vswitch::daemon::parse_options(static_cast<int>(argv.size() - 1), argv.data());
  ::unlink(config_path().c_str());
  check(options);
  return 0;
}
