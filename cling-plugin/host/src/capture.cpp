#include "capture.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>

namespace host {
namespace {

constexpr std::size_t kRecordLimit = 256 * 1024;
constexpr int kPipeBytes = 1 << 20;

// Length of the tail of s that is the start of an unfinished UTF-8 sequence.
std::size_t incomplete_utf8_tail(const std::string& s) {
  const std::size_t n = s.size();
  for (std::size_t back = 1; back <= 4 && back <= n; ++back) {
    const unsigned char c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking
    std::size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

bool make_pipe(int fds[2], std::string* error, const char* what) {
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    *error = std::string("pipe for ") + what + ": " + std::strerror(errno);
    return false;
  }
  ::fcntl(fds[0], F_SETPIPE_SZ, kPipeBytes);  // best effort, as JupyROOT
  ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  return true;
}

}  // namespace

bool OutputCapture::redirect(std::string* error) {
  std::fflush(stdout);
  std::fflush(stderr);
  orig_out_ = ::fcntl(1, F_DUPFD_CLOEXEC, 10);
  orig_err_ = ::fcntl(2, F_DUPFD_CLOEXEC, 10);
  if (orig_out_ < 0 || orig_err_ < 0) {
    *error = std::string("dup of fds 1/2: ") + std::strerror(errno);
    return false;
  }
  int out[2], err[2];
  if (!make_pipe(out, error, "stdout") || !make_pipe(err, error, "stderr")) return false;
  // dup2 clears close-on-exec on 1 and 2: child processes write there too.
  if (::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0) {
    *error = std::string("dup2 onto fds 1/2: ") + std::strerror(errno);
    return false;
  }
  // The host's own copies (close-on-exec, above the low numbers a cell's
  // open() takes) keep the pipes for reattach().
  out_w_ = ::fcntl(out[1], F_DUPFD_CLOEXEC, 10);
  err_w_ = ::fcntl(err[1], F_DUPFD_CLOEXEC, 10);
  ::close(out[1]);
  ::close(err[1]);
  if (out_w_ < 0 || err_w_ < 0) {
    *error = std::string("dup of the capture pipes: ") + std::strerror(errno);
    return false;
  }
  out_r_ = out[0];
  err_r_ = err[0];
  // Line-buffered stdout (a pipe would make it fully buffered): output shows
  // up line by line while a cell runs. stderr stays unbuffered.
  std::setvbuf(stdout, nullptr, _IOLBF, BUFSIZ);
  std::setvbuf(stderr, nullptr, _IONBF, 0);
  return true;
}

void OutputCapture::start(Sink sink) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    sink_ = std::move(sink);
  }
  thread_ = std::thread([this] { run(); });
  thread_.detach();  // lives as long as the process
}

void OutputCapture::run() {
  pollfd fds[2] = {{out_r_, POLLIN, 0}, {err_r_, POLLIN, 0}};
  for (;;) {
    int rc = ::poll(fds, 2, -1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      return;
    }
    // Writers such as cling's diagnostics (an unbuffered llvm::raw_ostream)
    // write a few bytes at a time: let a burst finish, up to 20 ms, so that
    // it goes out as one message.
    auto pending_bytes = [this] {
      int total = 0, n = 0;
      for (int fd : {out_r_, err_r_})
        if (::ioctl(fd, FIONREAD, &n) == 0) total += n;
      return total;
    };
    for (int waited = 0; waited < 10; ++waited) {
      const int before = pending_bytes();
      if (before >= (64 << 10)) break;
      ::usleep(2000);
      if (pending_bytes() == before) break;  // quiet for 2 ms
    }
    std::lock_guard<std::mutex> lock(mutex_);
    // The host holds a write end of each pipe: they never reach end of file.
    pump(out_r_, out_carry_, "stdout", false);
    pump(err_r_, err_carry_, "stderr", false);
  }
}

bool OutputCapture::pump(int fd, std::string& carry, const char* name, bool final_flush) {
  std::string data;
  char buf[65536];
  bool open = true;
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r > 0) {
      data.append(buf, static_cast<std::size_t>(r));
      if (data.size() >= (1u << 20)) {  // forward big bursts in pieces
        forward(name, carry, std::move(data), false);
        data.clear();
      }
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) open = false;  // every write end closed
    break;                     // else EAGAIN: nothing more for now
  }
  if (!data.empty() || (final_flush && !carry.empty())) forward(name, carry, std::move(data), final_flush);
  return open;
}

void OutputCapture::forward(const char* name, std::string& carry, std::string data, bool final_flush) {
  std::string text = std::move(carry);
  carry.clear();
  text += data;
  if (!final_flush) {
    std::size_t tail = incomplete_utf8_tail(text);
    if (tail > 0) {
      carry.assign(text, text.size() - tail, tail);
      text.resize(text.size() - tail);
    }
  }
  if (text.empty()) return;
  if (recording_ && std::strcmp(name, "stderr") == 0 && recorded_.size() < kRecordLimit)
    recorded_.append(text, 0, kRecordLimit - recorded_.size());
  if (sink_) sink_(name, text);
}

void OutputCapture::flush_streams() {
  std::cout.flush();
  std::cerr.flush();
  std::clog.flush();
  std::fflush(stdout);
  std::fflush(stderr);
}

void OutputCapture::drain() {
  flush_streams();
  std::lock_guard<std::mutex> lock(mutex_);
  pump(out_r_, out_carry_, "stdout", true);
  pump(err_r_, err_carry_, "stderr", true);
}

void OutputCapture::forward_written() {
  flush_streams();
  std::lock_guard<std::mutex> lock(mutex_);
  if (!sink_) return;  // not started: the reader thread forwards it later
  pump(out_r_, out_carry_, "stdout", false);
  pump(err_r_, err_carry_, "stderr", false);
}

namespace {

// True if fd is open and is the same pipe as our_fd.
bool same_file(int fd, int our_fd) {
  struct stat a, b;
  return ::fstat(fd, &a) == 0 && ::fstat(our_fd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

void OutputCapture::reattach() {
  for (auto [fd, ours, stream] : {std::tuple{1, out_w_, stdout}, std::tuple{2, err_w_, stderr}}) {
    if (same_file(fd, ours)) continue;
    // What stdio still buffers goes where the cell pointed fd 1 (a file it
    // dup2'ed there), or is dropped with it if fd 1 was closed.
    std::fflush(stream);
    ::dup2(ours, fd);  // leaves fd 1/2 inheritable, as they must be
  }
  // A write to a closed fd left error flags that would silence the streams
  // for good (std::cout stops at badbit).
  std::clearerr(stdout);
  std::clearerr(stderr);
  for (std::ostream* s : {&std::cout, &std::cerr, &std::clog}) s->clear();
}

void OutputCapture::begin_recording() {
  std::lock_guard<std::mutex> lock(mutex_);
  recording_ = true;
  recorded_.clear();
}

std::string OutputCapture::end_recording() {
  std::lock_guard<std::mutex> lock(mutex_);
  recording_ = false;
  return std::move(recorded_);
}

}  // namespace host
