#include "channel.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <sys/syscall.h>
#include <sys/uio.h>
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

// Writes all of the parts, in order (retrying on EINTR and short writes).
bool write_all_v(int fd, iovec* parts, int count) {
  while (count > 0) {
    ssize_t w = ::writev(fd, parts, count);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    auto left = static_cast<std::size_t>(w);
    while (count > 0 && left >= parts->iov_len) {
      left -= parts->iov_len;
      ++parts;
      --count;
    }
    if (count > 0) {
      parts->iov_base = static_cast<char*>(parts->iov_base) + left;
      parts->iov_len -= left;
    }
  }
  return true;
}

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

bool Channel::send_raw(const std::string& payload) { return send_payloads(&payload, 1); }

bool Channel::send_all(const std::vector<json>& messages) {
  std::vector<std::string> payloads;
  payloads.reserve(messages.size());
  for (const json& m : messages) payloads.push_back(m.dump(-1, ' ', false, json::error_handler_t::replace));
  // writev takes at most IOV_MAX (1024) parts: two per frame.
  constexpr std::size_t kFramesPerWrite = 256;
  for (std::size_t at = 0; at < payloads.size(); at += kFramesPerWrite)
    if (!send_payloads(payloads.data() + at, std::min(kFramesPerWrite, payloads.size() - at))) return false;
  return true;
}

bool Channel::send_payloads(const std::string* payloads, std::size_t count) {
  if (peer_gone_.load() || ::getpid() != owner_pid_) return false;
  // One writev for the frames, each its length then its payload: the bridge
  // wakes once for them (a wake-up per frame, on 2 busy cores, let the
  // bridge preempt the host between a cell's value and its reply).
  std::vector<std::array<char, 4>> headers(count);
  std::vector<iovec> parts(2 * count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto n = static_cast<std::uint32_t>(payloads[i].size());
    headers[i] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                  static_cast<char>(n)};
    parts[2 * i] = {headers[i].data(), 4};
    parts[2 * i + 1] = {const_cast<char*>(payloads[i].data()), payloads[i].size()};
  }
  std::lock_guard<std::mutex> lock(write_mutex_);
  writer_tid.store(static_cast<long>(::syscall(SYS_gettid)));
  bool ok = write_all_v(out_fd_, parts.data(), static_cast<int>(parts.size()));
  writer_tid.store(0);
  if (!ok) peer_gone_.store(true);
  return ok;
}

}  // namespace host
