#include "signals.hpp"

#include <TInterpreter.h>
#include <TROOT.h>
#include <TVirtualMutex.h>
#include <TVirtualRWMutex.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <ucontext.h>
#include <fcntl.h>
#include <pthread.h>
#include <set>
#include <string>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <vector>

#include "capture.hpp"
#include "channel.hpp"

namespace host {

// Set by alloc_guard.cpp: > 0 while this thread is inside malloc and friends.
extern __thread int g_in_allocator;

sigjmp_buf g_cell_jump;

namespace {

// ---------------------------------------------------------------------------
// State shared with signal handlers: plain atomics and static buffers only.

Channel* g_channel = nullptr;
OutputCapture* g_capture = nullptr;
std::atomic<const char*> g_crash_id{"null"};  // JSON text of the running request's id
char g_crash_id_buf[2][512];
int g_crash_id_slot = 0;

pthread_t g_cell_thread;
std::atomic<bool> g_cell_thread_known{false};
int g_force_signal = 0;

std::atomic<int> g_phase{0};
volatile sig_atomic_t g_armed = 0;
std::atomic<const char*> g_refusal{""};

// The tracker's view of the cell thread (written by that thread only).
constexpr int kMaxDepth = 64;
std::atomic<int> g_user_depth{0};  // user-code levels entered (cling rewound the lock)
std::atomic<int> g_locks{0};       // ROOT core-mutex locks held by the cell thread
int g_locks_at_entry[kMaxDepth];   // g_locks when each user-code level was entered
int g_locks_at_arm = 0;
bool g_tracker_active = false;

int g_sigint_w = -1;
char g_workdir[4096];  // the host's own work directory, removed on a crash if empty

// Code whose frames the forced interrupt must not jump over: LibTorch, the
// engine and thread pools hand pointers into the caller's stack frame to
// worker threads (at::parallel_for, TBB) or hold locks of their own.
struct CodeRange {
  std::uintptr_t begin, end;
};
constexpr int kMaxRanges = 128;
CodeRange g_unsafe[kMaxRanges];
std::atomic<int> g_unsafe_count{0};
std::uintptr_t g_landing_frame = 0;  // the frame of the ProcessLine call
std::atomic<std::uintptr_t> g_unsafe_hit{0}, g_unsafe_hit_offset{0};

bool in_unsafe_code(std::uintptr_t address) {
  const int n = g_unsafe_count.load(std::memory_order_relaxed);
  for (int i = 0; i < n; ++i)
    if (address >= g_unsafe[i].begin && address < g_unsafe[i].end) return true;
  return false;
}

// True if the interrupted thread is in, or called from, unsafe code: scans
// the words of its stack between the interrupted stack pointer and the
// ProcessLine frame for return addresses into those libraries.
bool stack_mentions_unsafe_code(void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  if (!uc || !g_landing_frame) return false;
#if defined(__x86_64__)
  const std::uintptr_t pc = static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
  const std::uintptr_t sp = static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RSP]);
#elif defined(__aarch64__)
  const std::uintptr_t pc = static_cast<std::uintptr_t>(uc->uc_mcontext.pc);
  const std::uintptr_t sp = static_cast<std::uintptr_t>(uc->uc_mcontext.sp);
#else
  return true;  // unknown architecture: never force
#endif
  if (in_unsafe_code(pc)) {
    g_unsafe_hit = pc;
    return true;
  }
  if (sp >= g_landing_frame || g_landing_frame - sp > (64u << 20)) return true;
  for (std::uintptr_t at = sp & ~std::uintptr_t{7}; at < g_landing_frame; at += sizeof(std::uintptr_t)) {
    const std::uintptr_t word = *reinterpret_cast<const std::uintptr_t*>(at);
    if (in_unsafe_code(word)) {
      g_unsafe_hit = word;
      g_unsafe_hit_offset = at - sp;
      return true;
    }
  }
  return false;
}

std::vector<std::string> g_extra_unsafe;  // --no-jump-library

int collect_unsafe_range(dl_phdr_info* info, std::size_t, void* out) {
  static const char* const kUnsafe[] = {"libtorch_cpu.so", "libtorch.so", "libc10.so", "libtorchclad.so",
                                        "libtorchclad_root.so", "libgomp", "libiomp", "libtbb", "libImt.so"};
  const char* name = info->dlpi_name ? info->dlpi_name : "";
  const char* base = std::strrchr(name, '/');
  base = base ? base + 1 : name;
  bool unsafe = false;
  for (const char* u : kUnsafe) unsafe = unsafe || std::strncmp(base, u, std::strlen(u)) == 0;
  for (const std::string& u : g_extra_unsafe) unsafe = unsafe || std::strncmp(base, u.c_str(), u.size()) == 0;
  if (!unsafe) return 0;
  auto* ranges = static_cast<std::vector<CodeRange>*>(out);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
      ranges->push_back({info->dlpi_addr + ph.p_vaddr, info->dlpi_addr + ph.p_vaddr + ph.p_memsz});
  }
  return 0;
}

bool on_cell_thread() {
  return g_cell_thread_known.load(std::memory_order_relaxed) &&
         pthread_equal(pthread_self(), g_cell_thread);
}

// ---------------------------------------------------------------------------
// The delegating core mutex.

class TrackingCoreMutex final : public ROOT::TVirtualRWMutex {
 public:
  explicit TrackingCoreMutex(ROOT::TVirtualRWMutex* inner) : inner_(inner) {}

  Hint_t* ReadLock() override {
    const bool me = on_cell_thread();
    if (me) g_locks.fetch_add(1);
    return inner_->ReadLock();
  }
  void ReadUnLock(Hint_t* hint) override {
    inner_->ReadUnLock(hint);
    if (on_cell_thread()) g_locks.fetch_sub(1);
  }
  Hint_t* WriteLock() override {
    const bool me = on_cell_thread();
    if (me) g_locks.fetch_add(1);
    return inner_->WriteLock();
  }
  void WriteUnLock(Hint_t* hint) override {
    inner_->WriteUnLock(hint);
    if (on_cell_thread()) g_locks.fetch_sub(1);
  }
  std::unique_ptr<State> GetStateBefore() override { return inner_->GetStateBefore(); }
  // TCling rewinds the lock when cling enters user code
  // (TClingCallbacks::EnteringUserCode) and re-applies it on return.
  std::unique_ptr<StateDelta> Rewind(const State& earlier) override {
    auto delta = inner_->Rewind(earlier);
    if (on_cell_thread()) {
      int d = g_user_depth.load();
      if (d < kMaxDepth) g_locks_at_entry[d] = g_locks.load();
      g_user_depth.store(d + 1);
    }
    return delta;
  }
  void Apply(std::unique_ptr<StateDelta>&& delta) override {
    if (on_cell_thread() && g_user_depth.load() > 0) g_user_depth.fetch_sub(1);
    inner_->Apply(std::move(delta));
  }
  TVirtualRWMutex* Factory(Bool_t recursive) override { return inner_->Factory(recursive); }

 private:
  ROOT::TVirtualRWMutex* inner_;
};

// ---------------------------------------------------------------------------
// Async-signal-safe text building.

struct Text {
  char* data;
  std::size_t cap, n = 0;
  Text(char* d, std::size_t c) : data(d), cap(c) {}
  void put(const char* s) {
    while (*s && n < cap) data[n++] = *s++;
  }
  void put(const char* s, std::size_t len) {
    for (std::size_t i = 0; i < len && n < cap; ++i) data[n++] = s[i];
  }
  void put_u(unsigned long long v) {
    char tmp[24];
    int k = 0;
    do {
      tmp[k++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    while (k > 0 && n < cap) data[n++] = tmp[--k];
  }
  void put_hex(std::uintptr_t v) {
    put("0x");
    char tmp[20];
    int k = 0;
    do {
      tmp[k++] = "0123456789abcdef"[v & 15];
      v >>= 4;
    } while (v);
    while (k > 0 && n < cap) data[n++] = tmp[--k];
  }
  // A JSON string literal (quotes included); bytes >= 0x80 are copied (the
  // reader replaces invalid UTF-8), control characters escaped.
  void put_json(const char* s, std::size_t len) {
    put("\"");
    for (std::size_t i = 0; i < len && n + 8 < cap; ++i) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '"') put("\\\"");
      else if (c == '\\') put("\\\\");
      else if (c == '\n') put("\\n");
      else if (c == '\r') put("\\r");
      else if (c == '\t') put("\\t");
      else if (c < 0x20) {
        put("\\u00");
        data[n++] = "0123456789abcdef"[c >> 4];
        data[n++] = "0123456789abcdef"[c & 15];
      } else data[n++] = static_cast<char>(c);
    }
    put("\"");
  }
  void put_json(const char* s) { put_json(s, std::strlen(s)); }
};

// Writes data[4..n) as one frame (data[0..4) receives the length).
void write_frame(char* data, std::size_t n) {
  const std::uint32_t len = static_cast<std::uint32_t>(n - 4);
  data[0] = static_cast<char>(len >> 24);
  data[1] = static_cast<char>(len >> 16);
  data[2] = static_cast<char>(len >> 8);
  data[3] = static_cast<char>(len);
  write_all(g_channel->out_fd(), data, n);
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    default: return "signal";
  }
}
const char* signal_meaning(int sig) {
  switch (sig) {
    case SIGSEGV: return "segmentation fault (invalid memory access)";
    case SIGBUS: return "bus error (invalid memory access)";
    case SIGFPE: return "arithmetic exception (integer division by zero?)";
    case SIGILL: return "illegal instruction";
    case SIGABRT: return "abort (std::terminate, a failed assertion or abort())";
    default: return "fatal signal";
  }
}

char g_frame[256 * 1024];
char g_stream_frame[64 * 1024 + 1024];
char g_pipe_buf[32 * 1024];
volatile sig_atomic_t g_crash_sig = 0;
volatile sig_atomic_t g_frame_started = 0;
std::uintptr_t g_crash_addr = 0;
alignas(16) char g_altstack[256 * 1024];

// The crash frame without a traceback: what the SIGALRM fallback writes.
std::size_t build_crash_head(Text& t, int sig) {
  t.n = 4;
  t.put("{\"type\":\"crash\",\"id\":");
  t.put(g_crash_id.load());
  t.put(",\"signal\":");
  t.put_u(static_cast<unsigned>(sig));
  t.put(",\"signal_name\":\"");
  t.put(signal_name(sig));
  t.put("\",\"address\":\"");
  t.put_hex(g_crash_addr);
  t.put("\",\"message\":");
  char msg[256];
  Text m(msg, sizeof msg);
  m.put("the host received ");
  m.put(signal_name(sig));
  m.put(": ");
  m.put(signal_meaning(sig));
  m.put("; it exits");
  t.put_json(msg, m.n);
  return t.n;
}

void crash_alarm(int) {
  if (!g_frame_started) {
    Text t(g_frame, sizeof g_frame);
    build_crash_head(t, g_crash_sig);
    t.put(",\"traceback\":[]}");
    write_frame(g_frame, t.n);
  }
  _exit(128 + g_crash_sig);
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
      Text t(g_stream_frame, sizeof g_stream_frame);
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

void crash_handler(int sig, siginfo_t* info, void*) {
  static std::atomic<long> reporter{0};
  const long me = static_cast<long>(::syscall(SYS_gettid));
  long expected = 0;
  if (!reporter.compare_exchange_strong(expected, me)) {
    if (expected == me) crash_alarm(0);  // crashed while reporting: the short frame, exit
    for (;;) pause();                    // another thread is reporting and will exit
  }
  g_crash_sig = sig;
  g_crash_addr = reinterpret_cast<std::uintptr_t>(info ? info->si_addr : nullptr);

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

    void* frames[64];
    int depth = backtrace(frames, 64);
    Text t(g_frame, sizeof g_frame);
    build_crash_head(t, sig);
    t.put(",\"traceback\":[");
    for (int i = 0; i < depth; ++i) {
      char line[1024];
      Text l(line, sizeof line);
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
  if (g_workdir[0]) rmdir(g_workdir);  // only if empty (no %%clad cell ran)
  _exit(128 + sig);
}

void sigint_handler(int) {
  const int saved = errno;
  if (g_sigint_w >= 0) {
    char c = 'i';
    ssize_t ignored = ::write(g_sigint_w, &c, 1);
    (void)ignored;
  }
  errno = saved;
}

bool stdio_locked_by_me(FILE* f) {
  // glibc's _IO_lock_t: { int lock; int cnt; void* owner; }
  struct IoLock {
    int lock;
    int cnt;
    void* owner;
  };
  auto* l = reinterpret_cast<IoLock*>(f->_lock);
  return l && l->cnt > 0 && l->owner == reinterpret_cast<void*>(pthread_self());
}

void force_handler(int, siginfo_t*, void* context) {
  const int saved = errno;
  const char* refusal = nullptr;
  if (!g_armed) refusal = "no cell is running in the interpreter";
  else if (g_phase.load() != static_cast<int>(Phase::kCling)) refusal = "the cell is compiling";
  else if (g_user_depth.load() <= 0) refusal = "the interpreter is compiling the cell";
  else if (g_locks.load() != g_locks_at_entry[std::min(g_user_depth.load(), kMaxDepth) - 1])
    refusal = "the cell is inside ROOT (holding its lock)";
  else if (g_in_allocator > 0) refusal = "the cell is inside malloc";
  else if (stack_mentions_unsafe_code(context))
    refusal = "the cell is inside LibTorch, the torchclad engine or a thread pool";
  // Inside printf on stdout/stderr (a printing loop blocked on a full pipe
  // is almost always there) is allowed: the landing releases those locks.
  if (refusal) {
    g_refusal.store(refusal);
    errno = saved;
    return;
  }
  g_refusal.store("");
  g_armed = 0;
  siglongjmp(g_cell_jump, 1);
}

void set_handler(int sig, void (*fn)(int, siginfo_t*, void*), int extra_flags) {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fn;
  sa.sa_flags = SA_SIGINFO | extra_flags;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, nullptr);
}

}  // namespace

void install_crash_handlers(Channel* channel, OutputCapture* capture) {
  g_channel = channel;
  g_capture = capture;
  void* warm[4];
  backtrace(warm, 4);  // loads libgcc_s now, not inside the handler
  Dl_info dl;
  dladdr(reinterpret_cast<void*>(&install_crash_handlers), &dl);
  reinstall_handlers();
}

void reinstall_handlers() {
  // The cell thread gets an alternate stack, so that a stack overflow in a
  // cell is reported too.
  if (on_cell_thread()) {
    stack_t ss;
    std::memset(&ss, 0, sizeof ss);
    ss.ss_sp = g_altstack;
    ss.ss_size = sizeof g_altstack;
    sigaltstack(&ss, nullptr);
  }
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) set_handler(sig, crash_handler, SA_ONSTACK);
  if (g_force_signal == 0) g_force_signal = SIGRTMIN + 4;
  set_handler(g_force_signal, force_handler, SA_RESTART);
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = sigint_handler;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
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

int install_sigint_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
  g_sigint_w = fds[1];
  return fds[0];
}

void register_cell_thread() {
  g_cell_thread = pthread_self();
  g_cell_thread_known.store(true);
}

void install_user_code_tracker() {
  if (!ROOT::gCoreMutex) return;  // ROOT::EnableThreadSafety() not called
  auto* tracker = new TrackingCoreMutex(ROOT::gCoreMutex);
  // TThread::Init() made these three one object; keep it so.
  ROOT::gCoreMutex = tracker;
  gInterpreterMutex = tracker;
  gROOTMutex = tracker;
  g_tracker_active = true;
}

bool user_code_tracker_active() { return g_tracker_active && ROOT::gCoreMutex != nullptr; }

void set_phase(Phase p) { g_phase.store(static_cast<int>(p)); }
Phase phase() { return static_cast<Phase>(g_phase.load()); }

void refresh_unsafe_code_ranges() {
  std::vector<CodeRange> ranges;
  dl_iterate_phdr(collect_unsafe_range, &ranges);
  g_unsafe_count.store(0);
  const int n = static_cast<int>(std::min<std::size_t>(ranges.size(), kMaxRanges));
  for (int i = 0; i < n; ++i) g_unsafe[i] = ranges[i];
  g_unsafe_count.store(n);
}

void add_unsafe_library(const std::string& name_prefix) { g_extra_unsafe.push_back(name_prefix); }

void set_landing_frame(const void* frame) { g_landing_frame = reinterpret_cast<std::uintptr_t>(frame); }

void arm_forced_interrupt(bool armed) {
  if (armed) {
    g_locks_at_arm = g_locks.load();
    g_refusal.store("");
  }
  g_armed = armed ? 1 : 0;
}

int reset_after_unwind() {
  // A jump out of printf leaves stdout's or stderr's recursive lock held by
  // this thread: release it, or other threads printing would block forever.
  for (FILE* f : {stdout, stderr})
    for (int i = 0; i < 64 && stdio_locked_by_me(f); ++i) funlockfile(f);
  const int levels = g_user_depth.load();
  g_user_depth.store(0);
  g_locks.store(g_locks_at_arm);
  return levels;
}

bool poke_cell_thread() {
  if (!g_cell_thread_known.load() || !g_armed) return false;
  pthread_kill(g_cell_thread, g_force_signal);
  return true;
}

const char* last_refusal() { return g_refusal.load(); }

std::string last_unsafe_frame() {
  const std::uintptr_t hit = g_unsafe_hit.load();
  if (!hit) return "";
  char where[64];
  std::snprintf(where, sizeof where, "%#lx", static_cast<unsigned long>(hit));
  std::string text = where;
  Dl_info dl;
  if (dladdr(reinterpret_cast<void*>(hit), &dl) && dl.dli_fname) {
    text += std::string(" in ") + dl.dli_fname;
    if (dl.dli_sname) text += std::string(" (") + dl.dli_sname + ")";
  }
  return text + " at sp+" + std::to_string(g_unsafe_hit_offset.load());
}

int kill_child_processes(std::atomic<bool>* killing) {
  // Descendants of this process, from /proc/<pid>/stat's ppid field.
  std::vector<std::pair<int, int>> procs;  // pid, ppid
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      int pid = std::atoi(e->d_name);
      if (pid <= 0) continue;
      char path[64];
      std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
      FILE* f = std::fopen(path, "r");
      if (!f) continue;
      char buf[512];
      size_t n = std::fread(buf, 1, sizeof buf - 1, f);
      std::fclose(f);
      buf[n] = 0;
      const char* close_paren = std::strrchr(buf, ')');
      int ppid = 0;
      char state;
      if (close_paren && std::sscanf(close_paren + 1, " %c %d", &state, &ppid) == 2)
        procs.emplace_back(pid, ppid);
    }
    closedir(d);
  }
  std::set<int> family = {static_cast<int>(getpid())};
  bool grew = true;
  while (grew) {
    grew = false;
    for (auto [pid, ppid] : procs)
      if (family.count(ppid) && !family.count(pid)) {
        family.insert(pid);
        grew = true;
      }
  }
  family.erase(static_cast<int>(getpid()));
  if (!family.empty() && killing) killing->store(true);  // before the cell thread can see a failure
  for (int pid : family) kill(pid, SIGKILL);
  return static_cast<int>(family.size());
}

}  // namespace host
