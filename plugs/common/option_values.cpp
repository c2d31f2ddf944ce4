#include "common/option_values.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <string>

#include "vswitch/error.hpp"

namespace vswitch::plugs {

in_addr parse_ipv4(std::string_view key, std::string_view text) {
  in_addr a{};
  if (inet_pton(AF_INET, std::string(text).c_str(), &a) != 1) {
    throw ConfigError(std::string(key) + "=" + std::string(text) + ": not an IPv4 address");
  }
  return a;
}

in6_addr parse_ipv6(std::string_view key, std::string_view text) {
  in6_addr a{};
  if (inet_pton(AF_INET6, std::string(text).c_str(), &a) != 1) {
    throw ConfigError(std::string(key) + "=" + std::string(text) + ": not an IPv6 address");
  }
  return a;
}

uint32_t parse_number(std::string_view key, std::string_view text, uint32_t min, uint32_t max) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty() || v < min || v > max) {
    throw ConfigError(std::string(key) + ": '" + std::string(text) + "' is not a number in " +
                      std::to_string(min) + "-" + std::to_string(max));
  }
  return v;
}

bool parse_on_off(std::string_view key, std::string_view v) {
  if (v == "on" || v == "yes" || v == "true") return true;
  if (v == "off" || v == "no" || v == "false") return false;
  throw ConfigError(std::string(key) + "=" + std::string(v) + ": use on or off");
}

}  // namespace vswitch::plugs
