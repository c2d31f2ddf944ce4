#include "line_connection.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace vswitch::daemon {

LineConnection::LineConnection(Engine& engine, plugs::Fd fd, Limits limits, LineHandler on_line,
                               Engine::FdCallback on_ready)
    : engine_(engine),
      fd_(std::move(fd)),
      limits_(limits),
      on_line_(std::move(on_line)),
      interest_(EPOLLIN | EPOLLRDHUP),
      last_activity_ms_(engine.now_ms()) {
  engine_.watch(fd_.get(), interest_, std::move(on_ready));
}

LineConnection::~LineConnection() {
  engine_.unwatch(fd_.get());
}

void LineConnection::on_events(uint32_t events) {
  if (done_) return;
  if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) write_output();
  if (!done_ && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) read_input();
  if (!done_) take_lines();
  if (!done_) write_output();
  if (!done_) update_interest();
}

void LineConnection::send(std::string_view bytes) {
  out_.append(bytes);
}

void LineConnection::flush() {
  if (done_) return;
  write_output();
  if (!done_) update_interest();
}

void LineConnection::finish() {
  finishing_ = true;
}

void LineConnection::read_input() {
  // Input waits in the socket while the client has replies to read, or a line to finish.
  if (eof_ || finishing_ || unsent() >= limits_.max_output) return;
  char buf[4096];
  const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n < 0) {
    done_ = true;
    return;
  }
  last_activity_ms_ = engine_.now_ms();
  if (n == 0) {
    // A half-closed client still reads: what it sent last is a line even without its newline.
    eof_ = true;
    if (!in_.empty() && !discarding_) in_ += '\n';
    return;
  }
  in_.append(buf, static_cast<size_t>(n));
}

void LineConnection::take_lines() {
  size_t start = 0;
  while (!finishing_ && unsent() < limits_.max_output) {
    const size_t nl = in_.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(in_.data() + start, nl - start);
    start = nl + 1;
    if (discarding_) {
      discarding_ = false;  // the end of a line already refused
      continue;
    }
    if (held_) continue;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool too_long = line.size() > limits_.max_line;
    on_line_(*this, too_long ? line.substr(0, limits_.max_line) : line, too_long);
  }
  in_.erase(0, start);
  if (in_.size() > limits_.max_line && in_.find('\n') == std::string::npos) {
    // The rest of an over-long line is read and thrown away up to its newline.
    if (!discarding_ && !held_) {
      on_line_(*this, std::string_view(in_).substr(0, limits_.max_line), true);
    }
    discarding_ = true;
    in_.clear();
  }
  if (eof_ && (in_.empty() || discarding_) && !finishing_ && !held_) finish();
}

void LineConnection::write_output() {
  while (out_head_ < out_.size()) {
    const ssize_t n =
        ::send(fd_.get(), out_.data() + out_head_, out_.size() - out_head_, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      done_ = true;
      return;
    }
    out_head_ += static_cast<size_t>(n);
    last_activity_ms_ = engine_.now_ms();
  }
  if (out_head_ == out_.size()) {
    out_.clear();
    out_head_ = 0;
  } else if (out_head_ > limits_.max_output && out_head_ > out_.size() / 2) {
    // Keep the buffer from creeping along, moving no more than was sent since the last move.
    out_.erase(0, out_head_);
    out_head_ = 0;
  }
  if (finishing_ && unsent() == 0) done_ = true;
}

void LineConnection::update_interest() {
  uint32_t want = 0;
  if (!eof_ && !finishing_ && unsent() < limits_.max_output) want |= EPOLLIN | EPOLLRDHUP;
  if (unsent() > 0) want |= EPOLLOUT;
  if (want != interest_) {
    engine_.modify(fd_.get(), want);
    interest_ = want;
  }
}

}  // namespace vswitch::daemon
