// Logging to stderr with a level, and a limiter for events that can repeat per frame: the
// daemon says a thing once per interval, with how often it happened, and goes on.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace vswitch {

enum class LogLevel : uint8_t { error, warn, info, debug };

std::optional<LogLevel> parse_log_level(std::string_view text);
void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);

// Sends the log to syslog (a daemon with no terminal) instead of stderr.
void log_to_syslog(const char* ident);

void log(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Lets one message through per interval and counts the ones it held back.
class LogLimiter {
 public:
  explicit LogLimiter(uint64_t interval_ms) : interval_ms_(interval_ms) {}
  // True when a message may go out now; suppressed() then tells how many were held back since
  // the last one.
  bool allow(uint64_t now_ms) {
    if (now_ms < next_ms_) {
      ++held_;
      return false;
    }
    next_ms_ = now_ms + interval_ms_;
    last_held_ = held_;
    held_ = 0;
    return true;
  }
  uint64_t suppressed() const { return last_held_; }

 private:
  uint64_t interval_ms_;
  uint64_t next_ms_ = 0;
  uint64_t held_ = 0;
  uint64_t last_held_ = 0;
};

}  // namespace vswitch
