// The command layer: every way of inspecting or changing the running switch, as functions of
// argument lists returning values. vswitchctl reaches it through the control socket; the
// vde_switch console is another front end over the same functions.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "value.hpp"

namespace vswitch {
class Segment;
}

namespace vswitch::daemon {

class Daemon;

// A reply that goes on after its first line, as long as the client reads: a capture's pcapng,
// a trace's lines. Pulled on the engine's thread, never mid-burst.
class Stream {
 public:
  virtual ~Stream() = default;
  // Appends what is ready, about `room` bytes at most; false once the stream has ended and
  // everything it had to say was appended.
  virtual bool pull(std::string& out, size_t room) = 0;
  // The client asked to stop (it closed its side): the next pull()s give the stream's tail.
  virtual void stop() = 0;
  // A stream that says much may write it to the client's socket itself, from another thread:
  // offered the socket once every byte before the stream was sent, it returns true to take
  // it, and its pull()s then append nothing until they return false, once its last byte is
  // written. The socket stays open until the stream is gone.
  virtual bool write_to(int /*socket*/) { return false; }
};

struct Reply {
  bool ok = true;
  Value body;
  std::string error;
  std::shared_ptr<Stream> stream;  // set: the body is the stream's bytes

  static Reply fail(std::string message) {
    return Reply{false, Value(), std::move(message), nullptr};
  }
};

// A control-socket reply: its first bytes, and the stream that follows them, if any.
struct Served {
  std::string bytes;
  std::shared_ptr<Stream> stream;
};

class Commands {
 public:
  using Args = std::vector<std::string>;

  explicit Commands(Daemon& daemon) : daemon_(daemon) {}

  Reply run(const Args& args);
  // A control-socket request line in, the reply out (see ControlServer).
  Served serve(const std::string& request);
  static std::string usage();

  // Pieces the other front ends reuse.
  Value port_info(const std::string& name) const;
  Value segment_info(const std::string& name) const;

 private:
  using Handler = Reply (Commands::*)(const Args&);
  static const std::map<std::string, Handler, std::less<>>& table();

  Reply help(const Args&);
  Reply version(const Args&);
  Reply shutdown(const Args&);
  Reply show(const Args&);
  Reply segment(const Args&);
  Reply port(const Args&);
  Reply fdb(const Args&);
  Reply nat(const Args&);
  Reply dhcp(const Args&);
  Reply counters(const Args&);
  Reply capture(const Args&);   // commands_capture.cpp
  Reply mirror(const Args&);    // commands_mirror.cpp
  Reply stats(const Args&);     // commands_stats.cpp
  Reply metrics(const Args&);   // commands_picture.cpp
  Reply show_dot(const Args&);  // commands_picture.cpp: show --dot
  Reply trace(const Args&);     // commands_trace.cpp

  Segment& segment_arg(const Args& args, size_t i) const;

  Daemon& daemon_;
};

// Throws the usage when fewer than n arguments were given.
void need(const Commands::Args& args, size_t n, const char* syntax);

}  // namespace vswitch::daemon
