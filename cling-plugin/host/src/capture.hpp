#pragma once
// Output capture at the file-descriptor level, as JupyROOT's IOHandler does:
// fds 1 and 2 become the write ends of two pipes for the whole life of the
// host, so printf, std::cout, ROOT's Info/Warning/Error, cling's diagnostics
// and child processes (the compiler of a %%clad cell) all land there. A
// reader thread forwards what arrives, as it arrives; drain() forwards the
// rest at the end of a cell. The host keeps its own copies of the write
// ends, so a cell that closes or replaces fd 1 or 2 loses its output for
// that cell only: reattach() puts the pipes back before the next.
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace host {

class OutputCapture {
 public:
  // name: "stdout" or "stderr"; text: valid UTF-8 (a sequence split by a read
  // is completed by the next one).
  using Sink = std::function<void(const char* name, const std::string& text)>;

  // Creates the pipes and dup2s them onto fds 1 and 2; line-buffers stdout.
  // Returns false with *error on failure. Nothing is forwarded until start().
  bool redirect(std::string* error);
  // Starts the reader thread.
  void start(Sink sink);

  // Flushes stdio and iostreams, then forwards everything already written.
  void drain();
  // The same while a cell runs, from any thread: called before the host sends
  // a display (a training display, torchclad::show), so that what the code
  // printed before it comes before it, as in ipykernel. An unfinished UTF-8
  // sequence stays for the next read.
  void forward_written();

  // Makes fds 1 and 2 the pipes again if a cell closed or replaced them, and
  // clears the error state a failed write left on stdout/stderr and
  // std::cout/cerr/clog.
  void reattach();

  // While recording, stderr text is also kept (up to a limit) for the error
  // reply of the running cell.
  void begin_recording();
  std::string end_recording();

  // The original fds 1 and 2 (the host's own log goes to original_stderr).
  int original_stdout() const { return orig_out_; }
  int original_stderr() const { return orig_err_; }
  // The read ends, for the crash handler's last drain.
  int stdout_read_fd() const { return out_r_; }
  int stderr_read_fd() const { return err_r_; }
  std::mutex& mutex() { return mutex_; }

 private:
  void run();
  // std::cout, std::cerr, std::clog and C's stdout/stderr buffers into the
  // pipes. Without mutex_: a writer blocked on a full pipe needs the reader.
  static void flush_streams();
  // Reads what is available on one pipe and forwards it; mutex_ held.
  bool pump(int fd, std::string& carry, const char* name, bool final_flush);
  void forward(const char* name, std::string& carry, std::string data, bool final_flush);

  int orig_out_ = -1, orig_err_ = -1;
  int out_r_ = -1, err_r_ = -1;
  int out_w_ = -1, err_w_ = -1;  // the host's copies of the write ends (close-on-exec)
  std::string out_carry_, err_carry_;
  std::mutex mutex_;
  Sink sink_;
  std::thread thread_;
  bool recording_ = false;
  std::string recorded_;
};

}  // namespace host
