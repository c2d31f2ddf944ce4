// One client of a line-oriented service on the control plane (the control socket, the
// vde_switch console): lines in as the client sends them, however its writes are cut; replies
// out as fast as it reads them.
//
// Both directions are bounded. A line longer than the limit is refused whole. Lines are taken
// only while the replies not yet read stay under the output limit: a client that sends commands
// and never reads stops being read, its socket fills and it waits, and the daemon holds at most
// one line's reply beyond the limit for it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/fd.hpp"
#include "vswitch/engine.hpp"

namespace vswitch::daemon {

class LineConnection {
 public:
  struct Limits {
    size_t max_line = 4096;
    size_t max_output = 256 * 1024;
  };
  // Called once per complete line, without its end of line ("\n" or "\r\n"). A line over the
  // limit is handed over once, cut at the limit, with `too_long` set.
  using LineHandler = std::function<void(LineConnection&, std::string_view line, bool too_long)>;

  // Takes the connected, non-blocking fd and watches it with `on_ready`, the owner's callback,
  // which calls on_events() and drops the connection once done().
  LineConnection(Engine& engine, plugs::Fd fd, Limits limits, LineHandler on_line,
                 Engine::FdCallback on_ready);
  ~LineConnection();
  LineConnection(const LineConnection&) = delete;
  LineConnection& operator=(const LineConnection&) = delete;

  int fd() const { return fd_.get(); }
  void on_events(uint32_t events);
  void send(std::string_view bytes);
  // The bytes queued for the client, for a writer that appends to them in place (a stream).
  std::string& outbox() { return out_; }
  // Writes what send() queued from outside on_events() (a stream's next bytes).
  void flush();
  // No more lines are taken; the connection is done once what is queued has been sent.
  void finish();
  // The reply to the line taken goes on (a stream): later lines are ignored, and the end of the
  // client's input no longer finishes the connection; finish() does.
  void hold() { held_ = true; }
  // The client will send nothing more (it closed its side, or hung up).
  bool input_ended() const { return eof_; }
  // The client hung up or failed, or finish() was called and everything was sent: the owner
  // drops the connection.
  bool done() const { return done_; }
  // Milliseconds since bytes last moved either way.
  uint64_t idle_ms(uint64_t now_ms) const { return now_ms - last_activity_ms_; }
  // Replies queued that the client has not read.
  size_t unsent() const { return out_.size() - out_head_; }

 private:
  void read_input();
  void take_lines();
  void write_output();
  void update_interest();

  Engine& engine_;
  plugs::Fd fd_;
  Limits limits_;
  LineHandler on_line_;
  std::string in_;
  bool discarding_ = false;  // inside a line already refused as too long
  std::string out_;
  size_t out_head_ = 0;
  bool eof_ = false;        // the client will send nothing more
  bool finishing_ = false;  // finish() was called
  bool held_ = false;       // hold() was called
  bool done_ = false;
  uint32_t interest_;
  uint64_t last_activity_ms_;
};

}  // namespace vswitch::daemon
