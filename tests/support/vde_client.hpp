// Real VDE clients for tests: libvdeplug in this process (what QEMU links), Debian's vde_plug
// as a child process speaking its stdio framing, and a raw control connection for requests no
// proper client would send.
//
// libvdeplug loads its modules with RTLD_DEEPBIND, which AddressSanitizer's runtime refuses; in
// the sanitizer build VdeClient therefore speaks the same handshake itself, the way vdeplug4
// does, so the switch under test is still the sanitized one.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "frames.hpp"
#include "process.hpp"

struct vdeconn;

namespace vswitch::test {

class VdeClient {
 public:
  // vnl: a switch directory, "DIR[N]" or "vde:///DIR[N]"; port: as QEMU's port= (0: any).
  explicit VdeClient(const std::string& vnl, int port = 0,
                     const std::string& description = "vswitch-test");
  ~VdeClient();
  VdeClient(const VdeClient&) = delete;
  VdeClient& operator=(const VdeClient&) = delete;

  bool ok() const { return data_ >= 0; }
  bool send(const Bytes& frame);
  std::optional<Bytes> recv(int timeout_ms = 2000);
  // Every frame that arrives within the window.
  std::vector<Bytes> drain(int quiet_ms = 200);
  int data_fd() const { return data_; }
  int ctl_fd() const { return ctl_; }
  // Did the switch close our control connection (within the timeout)?
  bool ctl_closed(int timeout_ms = 2000) const;
  void close();

 private:
  vdeconn* conn_ = nullptr;  // libvdeplug's, in the normal build
  int ctl_ = -1;
  int data_ = -1;
};

// vde_open() in a child process, so a switch that never answers cannot hang the test: the exit
// status (0 opened, 1 refused) or -1 when the child was still waiting after the timeout.
// `uid` >= 0 runs the client as that user.
int vde_open_in_child(const std::string& vnl, int port, int uid = -1,
                      std::chrono::milliseconds timeout = 5s);

// Debian's vde_plug attached to a switch, its stdio speaking 2-byte big-endian length + frame.
class VdePlug {
 public:
  explicit VdePlug(const std::string& vnl);
  ~VdePlug();
  VdePlug(const VdePlug&) = delete;
  VdePlug& operator=(const VdePlug&) = delete;

  bool send(const Bytes& frame);
  std::optional<Bytes> recv(int timeout_ms = 2000);

 private:
  pid_t pid_ = -1;
  int to_ = -1;    // its stdin
  int from_ = -1;  // its stdout
};

// A control connection to DIR/ctl that sends what it is told. `uid` >= 0 makes it that user's
// connection as the switch sees it (SO_PEERCRED), with that user's primary group and no others.
class RawCtl {
 public:
  explicit RawCtl(const std::string& dir, int uid = -1);
  ~RawCtl();
  bool connected() const { return fd_ >= 0; }
  bool send(const Bytes& bytes);
  // True when the switch closed the connection within the timeout (read() returned 0).
  bool closed_by_switch(int timeout_ms);
  // The data socket path of the switch's reply, or nullopt when none came within the timeout.
  std::optional<std::string> reply(int timeout_ms);

 private:
  int fd_ = -1;
};

// A version 3 request as vdeplug4 builds it, for `client_path`.
Bytes vde_request(uint32_t magic, uint32_t version, uint32_t type, const std::string& client_path,
                  const std::string& description);

}  // namespace vswitch::test
