// The values of a plug's KEY=VALUE options: addresses, numbers, switches. Each throws
// ConfigError naming the key and what it expected, so the user sees which option is wrong.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string_view>

namespace vswitch::plugs {

in_addr parse_ipv4(std::string_view key, std::string_view text);
in6_addr parse_ipv6(std::string_view key, std::string_view text);
uint32_t parse_number(std::string_view key, std::string_view text, uint32_t min, uint32_t max);
bool parse_on_off(std::string_view key, std::string_view text);

}  // namespace vswitch::plugs
