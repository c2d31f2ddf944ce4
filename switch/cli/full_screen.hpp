// A terminal taken over for a view that redraws itself (vswitchctl top), and given back as it
// was: the alternate screen, no cursor, keys read one at a time without echo. Ctrl-C still
// sends SIGINT; whoever catches it lets this object go, which restores the terminal.
#pragma once

#include <termios.h>

#include <string>

namespace vswitch::cli {

class FullScreen {
 public:
  // Takes the terminal on `out` when it is one (and keys from `in` when that is one too);
  // otherwise does nothing.
  FullScreen(int in, int out);
  ~FullScreen();
  FullScreen(const FullScreen&) = delete;
  FullScreen& operator=(const FullScreen&) = delete;

  bool active() const { return active_; }
  // Whether keys come one at a time from `in`, to be polled.
  bool reads_keys() const { return keys_; }
  // Replaces what the screen shows; only while active().
  void draw(const std::string& screen);

 private:
  int in_;
  int out_;
  bool active_ = false;
  bool keys_ = false;
  termios saved_{};
};

}  // namespace vswitch::cli
