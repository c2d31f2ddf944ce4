// Writes a capture's stream to its client's socket from a thread of its own, one of the EAL's
// control cores, so that a busy capture's socket writes (a kernel copy of every byte, and
// waking the reader) do not take the switch's core. It sends the header, then each chunk as the
// datapath readies it, then the tail once the capture has ended.
#pragma once

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <span>
#include <string>

#include "capture/capture_session.hpp"

namespace vswitch::capture {

class CaptureWriter {
 public:
  // `socket`: non-blocking, the caller's; it stays open while the writer lives.
  CaptureWriter(CaptureSession& session, int socket, std::string header);
  // Stops writing (the rest is not sent) and waits for the thread.
  ~CaptureWriter();
  CaptureWriter(const CaptureWriter&) = delete;
  CaptureWriter& operator=(const CaptureWriter&) = delete;

  // On the datapath's thread, after sealing what is ready: wakes the writer.
  void wake();
  // Once the capture has ended and its last chunk is sealed: the writer sends what is left,
  // then `tail`, and is done.
  void end(std::string tail);
  // Everything was sent, or the socket failed.
  bool done() const { return done_.load(std::memory_order_acquire); }
  bool failed() const { return failed_.load(std::memory_order_acquire); }

 private:
  static void* run(void* self);
  void write_all();
  bool send_all(std::span<const uint8_t> bytes);
  void wait_for_work();

  CaptureSession& session_;
  int socket_;
  std::string header_;
  std::string tail_;  // written by end() before ended_ is set
  pthread_t thread_{};
  std::mutex mutex_;
  std::condition_variable work_;
  std::atomic<bool> ended_{false};
  std::atomic<bool> quit_{false};
  std::atomic<bool> done_{false};
  std::atomic<bool> failed_{false};
};

}  // namespace vswitch::capture
