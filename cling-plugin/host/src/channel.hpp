#pragma once
// The private channel between the kernel bridge and the host: frames of a
// 4-byte big-endian length followed by that many bytes of UTF-8 JSON, read
// from one file descriptor and written to another (or both on one socket).
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace host {

using json = nlohmann::json;

inline constexpr std::uint32_t kMaxFrameBytes = 64u << 20;  // 64 MiB

class Channel {
 public:
  Channel(int in_fd, int out_fd);

  enum class ReadStatus { kFrame, kEof, kTooLarge, kIoError };
  // Blocks for one frame. kTooLarge: the payload was skipped (the stream
  // stays in step) and *frame holds its announced length as text.
  ReadStatus read_frame(std::string* frame);

  // Thread-safe: one whole frame at a time. Invalid UTF-8 in strings is
  // replaced by U+FFFD. Returns false once the peer is gone, and in a
  // process forked from the one that opened the channel (a cell's fork()):
  // only the host speaks on it.
  bool send(const json& message);
  bool send_raw(const std::string& payload);
  // Several frames in one write, in order (a cell's displays, value and
  // reply): the bridge handles them in one wake-up.
  bool send_all(const std::vector<json>& messages);

  int in_fd() const { return in_fd_; }
  int out_fd() const { return out_fd_; }
  bool peer_gone() const { return peer_gone_.load(); }

  // For the crash handler: the thread id (gettid) of a writer in the middle
  // of a frame, 0 when none.
  std::atomic<long> writer_tid{0};

 private:
  bool send_payloads(const std::string* payloads, std::size_t count);

  int in_fd_, out_fd_;
  long owner_pid_;
  std::mutex write_mutex_;
  std::atomic<bool> peer_gone_{false};
};

// Writes all of buf (retrying on EINTR and short writes); async-signal-safe.
bool write_all(int fd, const char* buf, std::size_t n);

}  // namespace host
