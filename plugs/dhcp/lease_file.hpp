// A DHCP server's leases on disk, so a restart gives every client its address back: text, one
// lease a line, "EXPIRY MAC ADDRESS HOSTNAME CLIENT-ID" ('*' for none; the expiry in seconds
// since the epoch), as dnsmasq writes its own. Saved whole into a temporary file renamed over
// the old one, so a crash leaves one or the other, never half of each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "dhcp/lease_table.hpp"

namespace vswitch::plugs::dhcp {

// Where a segment's leases live unless told: /var/lib/vswitchd/SEGMENT.leases for root, else
// $XDG_STATE_HOME/vswitchd/ (or ~/.local/state/vswitchd/).
std::string default_lease_file(const std::string& segment);

class LeaseFile {
 public:
  explicit LeaseFile(std::string path);

  struct Loaded {
    size_t restored = 0;
    size_t expired = 0;
    size_t refused = 0;        // no longer fit the settings, or clashed with an earlier line
    size_t corrupt = 0;        // not a lease line at all
    size_t first_corrupt = 0;  // its line number
  };
  // Restores the file's leases into the table; a missing file is an empty one. Throws
  // ConfigError when the file is there but cannot be read.
  Loaded load(LeaseTable& table, int64_t now) const;
  // Writes the table's leases; 0 or the errno of the failure. Allocates nothing.
  int save(const LeaseTable& table) const;
  // Makes the file's directory when it is missing (the default path's); throws ConfigError.
  void make_directory() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string temp_;
};

}  // namespace vswitch::plugs::dhcp
