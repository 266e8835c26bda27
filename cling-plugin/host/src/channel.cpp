#include "channel.hpp"

#include <cerrno>
#include <sys/syscall.h>
#include <unistd.h>

namespace host {

bool write_all(int fd, const char* buf, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, buf, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    buf += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

namespace {

// 0: complete, 1: EOF before any byte, -1: error or EOF mid-way.
int read_exact(int fd, char* buf, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, buf + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) return got == 0 ? 1 : -1;
    got += static_cast<std::size_t>(r);
  }
  return 0;
}

}  // namespace

Channel::Channel(int in_fd, int out_fd) : in_fd_(in_fd), out_fd_(out_fd), owner_pid_(::getpid()) {}

Channel::ReadStatus Channel::read_frame(std::string* frame) {
  unsigned char header[4];
  int rc = read_exact(in_fd_, reinterpret_cast<char*>(header), 4);
  if (rc == 1) return ReadStatus::kEof;
  if (rc < 0) return ReadStatus::kIoError;
  const std::uint32_t n = (std::uint32_t{header[0]} << 24) | (std::uint32_t{header[1]} << 16) |
                          (std::uint32_t{header[2]} << 8) | std::uint32_t{header[3]};
  if (n > kMaxFrameBytes) {
    // Skip the payload so that the next frame is read from its start.
    char sink[65536];
    std::uint64_t left = n;
    while (left > 0) {
      std::size_t chunk = left < sizeof sink ? static_cast<std::size_t>(left) : sizeof sink;
      if (read_exact(in_fd_, sink, chunk) != 0) return ReadStatus::kIoError;
      left -= chunk;
    }
    *frame = std::to_string(n);
    return ReadStatus::kTooLarge;
  }
  frame->resize(n);
  if (n > 0 && read_exact(in_fd_, frame->data(), n) != 0) return ReadStatus::kIoError;
  return ReadStatus::kFrame;
}

bool Channel::send(const json& message) {
  return send_raw(message.dump(-1, ' ', false, json::error_handler_t::replace));
}

bool Channel::send_raw(const std::string& payload) {
  if (peer_gone_.load() || ::getpid() != owner_pid_) return false;
  const std::uint32_t n = static_cast<std::uint32_t>(payload.size());
  const char header[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                          static_cast<char>(n >> 8), static_cast<char>(n)};
  std::lock_guard<std::mutex> lock(write_mutex_);
  writer_tid.store(static_cast<long>(::syscall(SYS_gettid)));
  bool ok = write_all(out_fd_, header, 4) && write_all(out_fd_, payload.data(), payload.size());
  writer_tid.store(0);
  if (!ok) peer_gone_.store(true);
  return ok;
}

}  // namespace host
