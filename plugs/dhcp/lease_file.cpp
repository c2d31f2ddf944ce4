#include "dhcp/lease_file.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "common/fd.hpp"
#include "common/ip_address.hpp"
#include "vswitch/error.hpp"

namespace vswitch::plugs::dhcp {

namespace {

constexpr char kHeader[] =
    "# vswitchd DHCP leases: expiry (seconds since the epoch) MAC address hostname client-id\n";

std::string home_dir() {
  if (const char* h = getenv("HOME"); h && *h) return h;
  if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_dir) return pw->pw_dir;
  return "/tmp";
}

int write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return 0;
}

// "01:52:54:00:12:34:56", the client id in hex.
size_t hex_id(const OptionBytes& id, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  size_t n = 0;
  for (size_t i = 0; i < id.len; ++i) {
    if (i > 0) out[n++] = ':';
    out[n++] = kDigits[id.bytes[i] >> 4];
    out[n++] = kDigits[id.bytes[i] & 15];
  }
  return n;
}

bool parse_hex_id(std::string_view text, OptionBytes& id) {
  id.len = 0;
  if (text == "*") return true;
  for (size_t i = 0; i < text.size(); i += 3) {
    uint8_t b = 0;
    if (i + 2 > text.size() || (i + 2 < text.size() && text[i + 2] != ':')) return false;
    auto [end, ec] = std::from_chars(text.data() + i, text.data() + i + 2, b, 16);
    if (ec != std::errc{} || end != text.data() + i + 2 || !id.append(&b, 1)) return false;
  }
  return !id.empty();
}

// One line of the file; false when it is not a lease.
bool parse_line(const std::string& line, Lease& l) {
  std::istringstream in(line);
  std::string expiry, mac, address, hostname, id, extra;
  if (!(in >> expiry >> mac >> address >> hostname >> id) || (in >> extra)) return false;
  auto [end, ec] = std::from_chars(expiry.data(), expiry.data() + expiry.size(), l.expires);
  if (ec != std::errc{} || end != expiry.data() + expiry.size()) return false;
  const auto m = MacAddr::parse(mac);
  in_addr a{};
  if (!m || m->is_multicast() || inet_pton(AF_INET, address.c_str(), &a) != 1) return false;
  l.mac = *m;
  l.address = host_order(a);
  if (hostname != "*") {
    if (!HostName::valid(hostname)) return false;
    l.hostname = HostName::clean(hostname);
  }
  l.state = LeaseState::leased;
  return parse_hex_id(id, l.client_id);
}

}  // namespace

std::string default_lease_file(const std::string& segment) {
  std::string file = segment;
  for (char& c : file) {
    if (c == '/') c = '_';
  }
  file += ".leases";
  if (geteuid() == 0) return "/var/lib/vswitchd/" + file;
  if (const char* xdg = getenv("XDG_STATE_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/vswitchd/" + file;
  }
  return home_dir() + "/.local/state/vswitchd/" + file;
}

LeaseFile::LeaseFile(std::string path) : path_(std::move(path)), temp_(path_ + ".tmp") {}

void LeaseFile::make_directory() const {
  const size_t slash = path_.rfind('/');
  if (slash == std::string::npos || slash == 0) return;
  const std::string dir = path_.substr(0, slash);
  // Each missing level, as mkdir -p; private to the user unless it is root's /var/lib.
  const mode_t mode = geteuid() == 0 ? 0755 : 0700;
  for (size_t at = 1; at != std::string::npos;) {
    at = dir.find('/', at + 1);
    const std::string part = dir.substr(0, at);
    if (mkdir(part.c_str(), mode) != 0 && errno != EEXIST) {
      throw ConfigError("dhcp leases: cannot make " + part + ": " + std::strerror(errno) +
                        " (give leases=PATH, or leases=none to keep them in memory)");
    }
  }
}

LeaseFile::Loaded LeaseFile::load(LeaseTable& table, int64_t now) const {
  Loaded r;
  Fd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd && errno == ENOENT) return r;
  if (!fd || fstat(fd.get(), &st) != 0) {
    throw ConfigError("dhcp leases: cannot read " + path_ + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) throw ConfigError("dhcp leases: " + path_ + " is not a file");
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ConfigError("dhcp leases: cannot read " + path_ + ": " + std::strerror(errno));
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  std::istringstream in(text);
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    Lease l;
    if (!parse_line(line, l)) {
      if (r.corrupt++ == 0) r.first_corrupt = number;
      continue;
    }
    switch (table.restore(l, now)) {
      case LeaseTable::Restored::restored:
        ++r.restored;
        break;
      case LeaseTable::Restored::expired:
        ++r.expired;
        break;
      case LeaseTable::Restored::refused:
        ++r.refused;
        break;
    }
  }
  return r;
}

int LeaseFile::save(const LeaseTable& table) const {
  Fd fd(::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return errno;
  // Lines go out through a buffer of the stack, flushed when the next line might not fit.
  char buf[8192];
  size_t n = 0;
  int err = 0;
  auto flush = [&] {
    if (err == 0) err = write_all(fd.get(), buf, n);
    n = 0;
  };
  std::memcpy(buf, kHeader, sizeof kHeader - 1);
  n = sizeof kHeader - 1;
  for (const Lease& l : table.records()) {
    if (l.state != LeaseState::leased) continue;
    constexpr size_t kLineMax = 20 + 18 + 16 + 64 + 255 * 3 + 8;
    if (sizeof buf - n < kLineMax) flush();
    const uint32_t a = l.address;
    const std::string_view name = l.hostname.empty() ? "*" : l.hostname.view();
    uint8_t m[6];
    l.mac.to_bytes(m);
    n += static_cast<size_t>(snprintf(
        buf + n, sizeof buf - n, "%lld %02x:%02x:%02x:%02x:%02x:%02x %u.%u.%u.%u %.*s ",
        static_cast<long long>(l.expires), m[0], m[1], m[2], m[3], m[4], m[5], a >> 24,
        (a >> 16) & 255, (a >> 8) & 255, a & 255, static_cast<int>(name.size()), name.data()));
    if (l.client_id.empty()) {
      buf[n++] = '*';
    } else {
      n += hex_id(l.client_id, buf + n);
    }
    buf[n++] = '\n';
  }
  flush();
  if (err != 0) {
    unlink(temp_.c_str());
    return err;
  }
  fd.reset();
  if (rename(temp_.c_str(), path_.c_str()) != 0) {
    err = errno;
    unlink(temp_.c_str());
    return err;
  }
  return 0;
}

}  // namespace vswitch::plugs::dhcp
