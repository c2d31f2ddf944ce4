#include "capture/capture_writer.hpp"

#include <poll.h>
#include <rte_lcore.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace vswitch::capture {

namespace {
// How long the writer sleeps when nothing is ready, unless woken (it is, when a chunk is): a
// capture of an idle port costs the writer a few wake-ups a second.
constexpr auto kIdleWait = std::chrono::milliseconds(250);
// How long it waits for a full socket before looking whether it should stop.
constexpr int kSocketWaitMs = 50;
}  // namespace

CaptureWriter::CaptureWriter(CaptureSession& session, int socket, std::string header)
    : session_(session), socket_(socket), header_(std::move(header)) {
  // A control thread of the EAL runs on the cores no datapath lcore was given.
  const int rc = rte_ctrl_thread_create(&thread_, "vs-capture", nullptr, &CaptureWriter::run, this);
  if (rc != 0) throw std::runtime_error(std::string("capture writer thread: ") + strerror(-rc));
}

CaptureWriter::~CaptureWriter() {
  quit_.store(true, std::memory_order_release);
  wake();
  pthread_join(thread_, nullptr);
}

// Under the lock, so that a writer between finding nothing and sleeping cannot miss it.
void CaptureWriter::wake() {
  std::lock_guard lock(mutex_);
  work_.notify_one();
}

void CaptureWriter::end(std::string tail) {
  tail_ = std::move(tail);
  ended_.store(true, std::memory_order_release);
  wake();
}

void* CaptureWriter::run(void* self) {
  static_cast<CaptureWriter*>(self)->write_all();
  return nullptr;
}

void CaptureWriter::write_all() {
  bool ok = send_all({reinterpret_cast<const uint8_t*>(header_.data()), header_.size()});
  while (ok && !quit_.load(std::memory_order_acquire)) {
    if (const auto chunk = session_.ready_chunk(); !chunk.empty()) {
      ok = send_all(chunk);
      session_.release_chunk();
      continue;
    }
    // The last chunk was readied before end(): one more look, then the tail.
    if (ended_.load(std::memory_order_acquire)) {
      if (!session_.ready_chunk().empty()) continue;
      ok = send_all({reinterpret_cast<const uint8_t*>(tail_.data()), tail_.size()});
      break;
    }
    wait_for_work();
  }
  if (!ok) failed_.store(true, std::memory_order_release);
  done_.store(true, std::memory_order_release);
}

void CaptureWriter::wait_for_work() {
  std::unique_lock lock(mutex_);
  work_.wait_for(lock, kIdleWait, [this] {
    return !session_.ready_chunk().empty() || ended_.load(std::memory_order_acquire) ||
           quit_.load(std::memory_order_acquire);
  });
}

bool CaptureWriter::send_all(std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(socket_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      bytes = bytes.subspan(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return false;
    if (quit_.load(std::memory_order_acquire)) return false;
    pollfd p{socket_, POLLOUT, 0};
    ::poll(&p, 1, kSocketWaitMs);
  }
  return true;
}

}  // namespace vswitch::capture
