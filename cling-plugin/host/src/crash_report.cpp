#include "crash_report.hpp"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <execinfo.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "capture.hpp"
#include "cell_jump.hpp"
#include "cell_processes.hpp"
#include "channel.hpp"
#include "signal_safe_text.hpp"
#include "stack_scan.hpp"

namespace host {
namespace {

// State shared with the handler: plain atomics and static buffers only.
Channel* g_channel = nullptr;
OutputCapture* g_capture = nullptr;
std::atomic<const char*> g_crash_id{"null"};  // JSON text of the running request's id
char g_crash_id_buf[2][512];
int g_crash_id_slot = 0;
char g_workdir[4096];  // the host's own work directory, removed on a crash if empty

char g_frame[256 * 1024];
char g_stream_frame[64 * 1024 + 1024];
char g_pipe_buf[32 * 1024];
volatile sig_atomic_t g_crash_sig = 0;
volatile sig_atomic_t g_frame_started = 0;
std::uintptr_t g_crash_addr = 0;
const char* g_reason = "";

// Writes data[4..n) as one frame (data[0..4) receives the length).
void write_frame(char* data, std::size_t n) {
  const std::uint32_t len = static_cast<std::uint32_t>(n - 4);
  data[0] = static_cast<char>(len >> 24);
  data[1] = static_cast<char>(len >> 16);
  data[2] = static_cast<char>(len >> 8);
  data[3] = static_cast<char>(len);
  write_all(g_channel->out_fd(), data, n);
}

// The crash frame without a traceback: what the SIGALRM fallback writes.
// resolve: name the library of the unsafe frame (dladdr, which takes the
// loader's lock: not in the SIGALRM fallback, which runs when the report
// may be stuck on that lock).
std::size_t build_crash_head(SignalSafeText& t, int sig, bool resolve) {
  t.n = 4;
  t.put("{\"type\":\"crash\",\"id\":");
  t.put(g_crash_id.load());
  t.put(",\"signal\":");
  t.put_u(static_cast<unsigned>(sig));
  t.put(",\"signal_name\":\"");
  t.put(signal_name(sig));
  t.put("\",\"address\":\"");
  t.put_hex(g_crash_addr);
  t.put("\",\"reason\":");
  t.put_json(g_reason);
  std::uintptr_t offset = 0;
  const std::uintptr_t unsafe = refused_for_unsafe_code(g_reason) ? last_unsafe_return_address(&offset) : 0;
  if (unsafe) {
    // Which frame the scan took for LibTorch's or the engine's: the one
    // fact that tells a live call from a stale word left on the stack.
    char where[512];
    SignalSafeText w(where, sizeof where);
    w.put_hex(unsafe);
    Dl_info dl;
    if (resolve && dladdr(reinterpret_cast<void*>(unsafe), &dl) && dl.dli_fname) {
      const char* base = std::strrchr(dl.dli_fname, '/');
      w.put(" in ");
      w.put(base ? base + 1 : dl.dli_fname);
    }
    if (offset == kInterruptedInstruction) {
      w.put(" (the interrupted instruction)");
    } else {
      w.put(" at sp+");
      w.put_u(offset);
    }
    t.put(",\"unsafe_frame\":");
    t.put_json(where, w.n);
  }
  t.put(",\"message\":");
  char msg[512];
  SignalSafeText m(msg, sizeof msg);
  m.put("the host received ");
  m.put(signal_name(sig));
  m.put(": ");
  m.put(signal_meaning(sig));
  m.put("; ");
  m.put(g_reason);
  m.put(", so the host cannot go on: it exits");
  t.put_json(msg, m.n);
  return t.n;
}

[[noreturn]] void end_after_crash() {
  kill_cell_processes();
  if (g_workdir[0]) rmdir(g_workdir);  // only if empty (no %%clad cell ran)
  _exit(128 + g_crash_sig);
}

void crash_alarm(int) {
  if (!g_frame_started) {
    SignalSafeText t(g_frame, sizeof g_frame);
    build_crash_head(t, g_crash_sig, false);
    t.put(",\"traceback\":[]}");
    write_frame(g_frame, t.n);
  }
  end_after_crash();
}

// Forwards what is still in the output pipes as stream frames.
void crash_drain_pipes() {
  if (!g_capture || !g_capture->mutex().try_lock()) return;
  const int fds[2] = {g_capture->stdout_read_fd(), g_capture->stderr_read_fd()};
  const char* names[2] = {"stdout", "stderr"};
  for (int i = 0; i < 2; ++i) {
    for (int rounds = 0; rounds < 64; ++rounds) {
      ssize_t r = ::read(fds[i], g_pipe_buf, sizeof g_pipe_buf);
      if (r <= 0) break;
      SignalSafeText t(g_stream_frame, sizeof g_stream_frame);
      t.n = 4;
      t.put("{\"type\":\"stream\",\"id\":");
      t.put(g_crash_id.load());
      t.put(",\"name\":\"");
      t.put(names[i]);
      t.put("\",\"text\":");
      t.put_json(g_pipe_buf, static_cast<std::size_t>(r));
      t.put("}");
      write_frame(g_stream_frame, t.n);
    }
  }
  g_capture->mutex().unlock();
}

void write_crash_frame(int sig) {
  void* frames[64];
  int depth = backtrace(frames, 64);
  SignalSafeText t(g_frame, sizeof g_frame);
  build_crash_head(t, sig, true);
  t.put(",\"traceback\":[");
  for (int i = 0; i < depth; ++i) {
    char line[1024];
    SignalSafeText l(line, sizeof line);
    l.put("#");
    l.put_u(static_cast<unsigned>(i));
    l.put(" ");
    l.put_hex(reinterpret_cast<std::uintptr_t>(frames[i]));
    Dl_info dl;
    if (dladdr(frames[i], &dl) && dl.dli_fname) {
      const char* base = std::strrchr(dl.dli_fname, '/');
      l.put(" in ");
      l.put(base ? base + 1 : dl.dli_fname);
      if (dl.dli_sname) {
        l.put(" (");
        l.put(dl.dli_sname);
        l.put("+");
        l.put_hex(reinterpret_cast<std::uintptr_t>(frames[i]) -
                  reinterpret_cast<std::uintptr_t>(dl.dli_saddr));
        l.put(")");
      }
    } else {
      l.put(" in interpreted code");
    }
    if (i) t.put(",");
    t.put_json(line, l.n);
  }
  t.put("]}");
  g_frame_started = 1;
  write_frame(g_frame, t.n);
}

}  // namespace

const char* signal_name(int sig) {
  switch (sig) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGABRT:
      return "SIGABRT";
    default:
      return "signal";
  }
}

const char* signal_meaning(int sig) {
  switch (sig) {
    case SIGSEGV:
      return "segmentation fault (invalid memory access)";
    case SIGBUS:
      return "bus error (invalid memory access)";
    case SIGFPE:
      return "arithmetic exception (integer division by zero?)";
    case SIGILL:
      return "illegal instruction";
    case SIGABRT:
      return "abort (std::terminate, a failed assertion or abort())";
    default:
      return "fatal signal";
  }
}

void crash_handler(int sig, siginfo_t* info, void* context) {
  // A process forked by a cell never writes on the host's channel: it dies
  // of the signal as a plain process would (without a core file of the
  // host's size).
  if (in_forked_child()) {
    const rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(sig, SIG_DFL);
    raise(sig);  // delivered when the handler returns (a fault also recurs then)
    return;
  }
  // The cell's own code on the cell thread: back to the host, which replies
  // with an error and goes on. Returns only when that cannot be done.
  const char* reason = recover_from_crash(sig, info, context);
  arm_cell_jump(false);  // a forced interrupt must not jump out of the report

  static std::atomic<long> reporter{0};
  const long me = static_cast<long>(::syscall(SYS_gettid));
  long expected = 0;
  if (!reporter.compare_exchange_strong(expected, me)) {
    if (expected == me) crash_alarm(0);  // crashed while reporting: the short frame, exit
    for (;;) pause();                    // another thread is reporting and will exit
  }
  g_crash_sig = sig;
  g_crash_addr = reinterpret_cast<std::uintptr_t>(info ? info->si_addr : nullptr);
  g_reason = reason;

  // Whatever hangs below (a lock held by the crashed code), SIGALRM writes
  // the short frame and exits.
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = crash_alarm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, nullptr);
  sigset_t unblock;
  sigemptyset(&unblock);
  sigaddset(&unblock, SIGALRM);
  pthread_sigmask(SIG_UNBLOCK, &unblock, nullptr);
  alarm(3);

  if (g_channel) {
    // Let a frame being written by another thread finish.
    for (int i = 0; i < 200; ++i) {
      long w = g_channel->writer_tid.load();
      if (w == 0 || w == me) break;
      timespec ts{0, 10 * 1000 * 1000};
      nanosleep(&ts, nullptr);
    }
    crash_drain_pipes();
    write_crash_frame(sig);
  }
  end_after_crash();
}

void install_crash_handlers(Channel* channel, OutputCapture* capture) {
  g_channel = channel;
  g_capture = capture;
  void* warm[4];
  backtrace(warm, 4);  // loads libgcc_s now, not inside the handler
  Dl_info dl;
  dladdr(reinterpret_cast<void*>(&install_crash_handlers), &dl);
}

void set_crash_workdir(const std::string& dir) {
  std::snprintf(g_workdir, sizeof g_workdir, "%s", dir.c_str());
}

void set_crash_context(const std::string* request_id_json) {
  if (!request_id_json || request_id_json->size() >= sizeof g_crash_id_buf[0]) {
    g_crash_id.store("null");
    return;
  }
  g_crash_id_slot ^= 1;
  std::memcpy(g_crash_id_buf[g_crash_id_slot], request_id_json->c_str(), request_id_json->size() + 1);
  g_crash_id.store(g_crash_id_buf[g_crash_id_slot]);
}

}  // namespace host
