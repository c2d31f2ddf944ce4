#include "vswitch/log.hpp"

#include <syslog.h>
#include <cstdarg>

#include <cstdio>
#include <ctime>

namespace vswitch {

namespace {
LogLevel g_level = LogLevel::info;
bool g_syslog = false;
constexpr const char* kNames[] = {"error", "warn", "info", "debug"};
}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) {
  for (int i = 0; i < 4; ++i) {
    if (text == kNames[i]) return static_cast<LogLevel>(i);
  }
  if (text == "warning") return LogLevel::warn;
  return std::nullopt;
}

void log_to_syslog(const char* ident) {
  openlog(ident, LOG_PID, LOG_DAEMON);
  g_syslog = true;
}

void set_log_level(LogLevel level) {
  g_level = level;
}
bool log_enabled(LogLevel level) {
  return level <= g_level;
}

void log(LogLevel level, const char* fmt, ...) {
  if (!log_enabled(level)) return;
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (g_syslog) {
    constexpr int kPriority[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    syslog(kPriority[static_cast<int>(level)], "%s", text);
    return;
  }
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  // One write per line keeps lines whole when several processes share a terminal.
  fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ vswitchd %s: %s\n", t.tm_year + 1900,
          t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000,
          kNames[static_cast<int>(level)], text);
}

}  // namespace vswitch
