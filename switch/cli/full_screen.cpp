#include "full_screen.hpp"

#include <unistd.h>

#include <cerrno>

namespace vswitch::cli {

namespace {

// The alternate screen keeps the shell's scrollback as it was; the cursor would blink over
// the numbers.
constexpr char kEnter[] = "\x1b[?1049h\x1b[?25l";
constexpr char kLeave[] = "\x1b[?25h\x1b[?1049l";
constexpr char kHomeAndClear[] = "\x1b[H\x1b[2J";

void write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

FullScreen::FullScreen(int in, int out) : in_(in), out_(out) {
  if (!isatty(out_)) return;
  active_ = true;
  if (isatty(in_) && tcgetattr(in_, &saved_) == 0) {
    termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);  // ISIG stays: Ctrl-C is SIGINT
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    keys_ = tcsetattr(in_, TCSANOW, &raw) == 0;
  }
  write_all(out_, kEnter);
}

FullScreen::~FullScreen() {
  if (!active_) return;
  write_all(out_, kLeave);
  if (keys_) tcsetattr(in_, TCSANOW, &saved_);
}

void FullScreen::draw(const std::string& screen) {
  if (!active_) return;
  write_all(out_, kHomeAndClear);
  write_all(out_, screen);
}

}  // namespace vswitch::cli
