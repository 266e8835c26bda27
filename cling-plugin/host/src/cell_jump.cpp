#include "cell_jump.hpp"

#include <TInterpreter.h>
#include <TROOT.h>
#include <TVirtualMutex.h>
#include <TVirtualRWMutex.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include <vector>

#include "jit_code.hpp"

namespace host {

// Set by alloc_guard.cpp: > 0 while this thread is inside malloc and friends.
extern __thread int g_in_allocator;

sigjmp_buf g_cell_jump;

namespace {

// ---------------------------------------------------------------------------
// State shared with signal handlers: plain atomics and static buffers only.

pthread_t g_cell_thread;
std::atomic<bool> g_cell_thread_known{false};
int g_force_signal = 0;

std::atomic<int> g_phase{0};
volatile sig_atomic_t g_armed = 0;
std::atomic<const char*> g_refusal{""};
volatile sig_atomic_t g_jump_signal = 0;
std::uintptr_t g_jump_address = 0;

// The tracker's view of the cell thread (written by that thread only).
constexpr int kMaxDepth = 64;
std::atomic<int> g_user_depth{0};  // user-code levels entered (cling rewound the lock)
std::atomic<int> g_locks{0};       // ROOT core-mutex locks held by the cell thread
int g_locks_at_entry[kMaxDepth];   // g_locks when each user-code level was entered
int g_locks_at_arm = 0;
bool g_tracker_active = false;
// The ROOT locks the cell thread holds, in order, with their hints: after a
// jump out of a static initializer they are released (see below).
struct HeldLock {
  bool write;
  ROOT::TVirtualRWMutex::Hint_t* hint;
};
HeldLock g_held[kMaxDepth];
int g_held_count = 0;  // entries beyond kMaxDepth are counted, not kept
volatile sig_atomic_t g_jump_from_initializer = 0;

// Code whose frames are never jumped over: LibTorch, the engine and thread
// pools hand pointers into the caller's stack frame to worker threads
// (at::parallel_for, TBB) or hold locks of their own.
struct CodeRange {
  std::uintptr_t begin, end;
};
constexpr int kMaxRanges = 128;
CodeRange g_unsafe[kMaxRanges];
std::atomic<int> g_unsafe_count{0};
std::uintptr_t g_landing_frame = 0;  // the frame of the ProcessLine call
std::atomic<std::uintptr_t> g_unsafe_hit{0}, g_unsafe_hit_offset{0};
std::vector<std::string> g_extra_unsafe;  // --no-jump-library
const long g_page_size = ::sysconf(_SC_PAGESIZE);

// The unsafe code range that holds address, or nullptr.
const CodeRange* unsafe_range_of(std::uintptr_t address) {
  const int n = g_unsafe_count.load(std::memory_order_relaxed);
  for (int i = 0; i < n; ++i)
    if (address >= g_unsafe[i].begin && address < g_unsafe[i].end) return &g_unsafe[i];
  return nullptr;
}

// A return address follows a call instruction. The stack also holds stale
// words (uninitialised slots, cling's symbol lookups while it compiled the
// cell) that point into LibTorch's 290 MB of code; most are not preceded by
// a call, and are not taken for live frames.
bool follows_a_call(std::uintptr_t address, const CodeRange& range) {
#if defined(__x86_64__)
  if (address - range.begin < 7) return true;  // cannot look: assume it is
  const auto* code = reinterpret_cast<const unsigned char*>(address);
  if (code[-5] == 0xE8) return true;  // call rel32
  // call r/m64: FF /2, 2 to 7 bytes long with its ModRM, SIB and displacement
  for (int length = 2; length <= 7; ++length)
    if (code[-length] == 0xFF && ((code[-length + 1] >> 3) & 7) == 2) return true;
  return false;
#elif defined(__aarch64__)
  if (address - range.begin < 4) return true;
  const std::uint32_t insn = *reinterpret_cast<const std::uint32_t*>(address - 4);
  return (insn & 0xFC000000u) == 0x94000000u ||  // bl
         (insn & 0xFFFFFC1Fu) == 0xD63F0000u;    // blr
#else
  return true;
#endif
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
  return true;  // unknown architecture: never jump
#endif
  if (unsafe_range_of(pc)) {
    g_unsafe_hit = pc;
    return true;
  }
  if (sp >= g_landing_frame || g_landing_frame - sp > (64u << 20)) return true;
  const std::uintptr_t page_size = static_cast<std::uintptr_t>(g_page_size);
  std::uintptr_t mapped_page = 0;  // the last page checked to be mapped
  for (std::uintptr_t at = sp & ~std::uintptr_t{7}; at < g_landing_frame; at += sizeof(std::uintptr_t)) {
    // After a stack overflow, sp points below the mapped stack: reading
    // there would fault inside this handler. Unmapped pages hold no frames.
    const std::uintptr_t page = at & ~(page_size - 1);
    if (page != mapped_page) {
      unsigned char resident;
      if (::mincore(reinterpret_cast<void*>(page), page_size, &resident) != 0) {
        at = page + page_size - sizeof(std::uintptr_t);
        continue;
      }
      mapped_page = page;
    }
    const std::uintptr_t word = *reinterpret_cast<const std::uintptr_t*>(at);
    const CodeRange* range = unsafe_range_of(word);
    if (range && follows_a_call(word, *range)) {
      g_unsafe_hit = word;
      g_unsafe_hit_offset = at - sp;
      return true;
    }
  }
  return false;
}

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

// Why the cell thread must not be jumped out of now (kNone: it may).
enum class Refusal { kNone, kNotArmed, kCompiling, kInterpreter, kRootLock, kMalloc, kUnsafeCode };

Refusal jump_refusal(void* context) {
  if (!g_armed) return Refusal::kNotArmed;
  if (g_phase.load() != static_cast<int>(Phase::kCling)) return Refusal::kCompiling;
  if (g_user_depth.load() <= 0) return Refusal::kInterpreter;
  if (g_locks.load() != g_locks_at_entry[std::min(g_user_depth.load(), kMaxDepth) - 1]) return Refusal::kRootLock;
  if (g_in_allocator > 0) return Refusal::kMalloc;
  if (stack_mentions_unsafe_code(context)) return Refusal::kUnsafeCode;
  // Inside printf on stdout/stderr (a printing loop blocked on a full pipe
  // is almost always there) is allowed: the landing releases those locks.
  return Refusal::kNone;
}

// cling runs the dynamic initializers of a cell's top-level variables
// (`double mean = h->GetMean();`) outside what the tracker sees as user
// code: ORC runs them while cling commits the cell, with ROOT's lock that
// ProcessLine took still held and no other. Code there is the cell's own
// too when code compiled from cells is on the stack, the only ROOT lock
// held is ProcessLine's (the initializer is not inside ROOT), and the other
// checks hold: a crash there is recovered from, and a forced interrupt
// jumps out of it. The landing then releases ProcessLine's lock.
constexpr int kProcessLineLocks = 1;

bool in_ranges(std::uintptr_t address, const AddressRange* ranges, int n) {
  for (int i = 0; i < n; ++i)
    if (address >= ranges[i].begin && address < ranges[i].end) return true;
  return false;
}

// True if the interrupted pc, or a return address on the stack up to the
// landing frame, is in code compiled from cells.
bool cell_code_on_stack(void* context) {
  static AddressRange jit[256];
  const int n = read_jit_ranges(jit, 256);
  auto* uc = static_cast<ucontext_t*>(context);
  if (!uc || !n || !g_landing_frame) return false;
#if defined(__x86_64__)
  const std::uintptr_t pc = static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
  const std::uintptr_t sp = static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RSP]);
#elif defined(__aarch64__)
  const std::uintptr_t pc = static_cast<std::uintptr_t>(uc->uc_mcontext.pc);
  const std::uintptr_t sp = static_cast<std::uintptr_t>(uc->uc_mcontext.sp);
#else
  return false;
#endif
  if (in_ranges(pc, jit, n)) return true;
  if (sp >= g_landing_frame || g_landing_frame - sp > (64u << 20)) return false;
  const std::uintptr_t page_size = static_cast<std::uintptr_t>(g_page_size);
  std::uintptr_t mapped_page = 0;
  for (std::uintptr_t at = sp & ~std::uintptr_t{7}; at < g_landing_frame; at += sizeof(std::uintptr_t)) {
    const std::uintptr_t page = at & ~(page_size - 1);
    if (page != mapped_page) {
      unsigned char resident;
      if (::mincore(reinterpret_cast<void*>(page), page_size, &resident) != 0) {
        at = page + page_size - sizeof(std::uintptr_t);
        continue;
      }
      mapped_page = page;
    }
    const std::uintptr_t word = *reinterpret_cast<const std::uintptr_t*>(at);
    for (int i = 0; i < n; ++i)
      if (word >= jit[i].begin && word < jit[i].end && follows_a_call(word, {jit[i].begin, jit[i].end}))
        return true;
  }
  return false;
}

bool in_jumpable_initializer(void* context) {
  return g_armed && g_phase.load() == static_cast<int>(Phase::kCling) && g_user_depth.load() == 0 &&
         g_locks.load() - g_locks_at_arm == kProcessLineLocks && g_held_count <= kMaxDepth &&
         g_in_allocator == 0 && !stack_mentions_unsafe_code(context) && cell_code_on_stack(context);
}

// For interrupt_stuck and the log.
const char* interrupt_refusal_text(Refusal r) {
  switch (r) {
    case Refusal::kNotArmed: return "no cell is running in the interpreter";
    case Refusal::kCompiling: return "the cell is compiling";
    case Refusal::kInterpreter: return "the interpreter is compiling the cell (or is inside ROOT or a library while it runs a top-level variable's initializer)";
    case Refusal::kRootLock: return "the cell is inside ROOT (holding its lock)";
    case Refusal::kMalloc: return "the cell is inside malloc";
    case Refusal::kUnsafeCode: return "the cell is inside LibTorch, the torchclad engine or a thread pool";
    case Refusal::kNone: break;
  }
  return "";
}

// For the crash frame: why the host cannot go on after this crash.
const char* crash_refusal_text(Refusal r) {
  switch (r) {
    case Refusal::kNotArmed: return "it happened outside a cell's code (in the host itself, or between cells)";
    case Refusal::kCompiling: return "it happened while a %%clad cell was being compiled";
    case Refusal::kInterpreter: return "it happened inside cling while it compiled the cell, not in the cell's code";
    case Refusal::kRootLock: return "it happened inside ROOT while ROOT's lock was held";
    case Refusal::kMalloc:
      return "it happened inside malloc/free: the heap is corrupt (a write out of bounds or after free?)";
    case Refusal::kUnsafeCode:
      return "it happened inside LibTorch, the torchclad engine or a thread pool, whose state is unknown after it";
    case Refusal::kNone: break;
  }
  return "";
}

// glibc's _IO_lock_t: { int lock; int cnt; void* owner; }
bool stdio_locked_by_me(FILE* f) {
  struct IoLock {
    int lock;
    int cnt;
    void* owner;
  };
  auto* l = reinterpret_cast<IoLock*>(f->_lock);
  return l && l->cnt > 0 && l->owner == reinterpret_cast<void*>(pthread_self());
}

[[noreturn]] void jump_to_landing(int sig, std::uintptr_t address) {
  g_jump_signal = sig;
  g_jump_address = address;
  g_armed = 0;
  siglongjmp(g_cell_jump, 1);
}

// ---------------------------------------------------------------------------
// The delegating core mutex.

class TrackingCoreMutex final : public ROOT::TVirtualRWMutex {
 public:
  explicit TrackingCoreMutex(ROOT::TVirtualRWMutex* inner) : inner_(inner) {}

  Hint_t* ReadLock() override {
    const bool me = on_cell_thread();
    if (me) g_locks.fetch_add(1);
    Hint_t* hint = inner_->ReadLock();
    if (me) remember(false, hint);
    return hint;
  }
  void ReadUnLock(Hint_t* hint) override {
    inner_->ReadUnLock(hint);
    if (on_cell_thread()) forget(false);
  }
  Hint_t* WriteLock() override {
    const bool me = on_cell_thread();
    if (me) g_locks.fetch_add(1);
    Hint_t* hint = inner_->WriteLock();
    if (me) remember(true, hint);
    return hint;
  }
  void WriteUnLock(Hint_t* hint) override {
    inner_->WriteUnLock(hint);
    if (on_cell_thread()) forget(true);
  }
  // Releases the locks the cell thread took since `count` were held, last
  // first, as the destructors of the lock guards jumped over would have.
  void release_down_to(int count) {
    while (g_held_count > count && g_held_count <= kMaxDepth) {
      const HeldLock held = g_held[g_held_count - 1];
      if (held.write) WriteUnLock(held.hint);
      else ReadUnLock(held.hint);
    }
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
  static void remember(bool write, Hint_t* hint) {
    if (g_held_count < kMaxDepth) g_held[g_held_count] = {write, hint};
    ++g_held_count;
  }
  // The most recent lock of that kind (locks are released last first).
  static void forget(bool write) {
    g_locks.fetch_sub(1);
    if (g_held_count > kMaxDepth) {
      --g_held_count;
      return;
    }
    for (int i = g_held_count - 1; i >= 0; --i) {
      if (g_held[i].write != write) continue;
      for (int j = i; j + 1 < g_held_count; ++j) g_held[j] = g_held[j + 1];
      --g_held_count;
      return;
    }
  }

  ROOT::TVirtualRWMutex* inner_;
};

TrackingCoreMutex* g_tracker = nullptr;
int g_held_at_arm = 0;

}  // namespace

void register_cell_thread() {
  g_cell_thread = pthread_self();
  g_cell_thread_known.store(true);
}

bool on_cell_thread() {
  return g_cell_thread_known.load(std::memory_order_relaxed) && pthread_equal(pthread_self(), g_cell_thread);
}

void install_user_code_tracker() {
  if (!ROOT::gCoreMutex) return;  // ROOT::EnableThreadSafety() not called
  auto* tracker = new TrackingCoreMutex(ROOT::gCoreMutex);
  g_tracker = tracker;
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

__attribute__((noinline)) void scrub_stack_below(std::size_t bytes) {
  char* area = static_cast<char*>(__builtin_alloca(bytes));
  // Top down, page by page: the main thread's stack grows as it is touched.
  for (std::size_t left = bytes; left > 0;) {
    const std::size_t chunk = std::min<std::size_t>(left, 4096);
    left -= chunk;
    std::memset(area + left, 0, chunk);
  }
  asm volatile("" : : "r"(area) : "memory");
}

void arm_cell_jump(bool armed) {
  if (armed) {
    g_locks_at_arm = g_locks.load();
    g_held_at_arm = g_held_count;
    g_refusal.store("");
    g_jump_signal = 0;
    g_jump_address = 0;
    g_jump_from_initializer = 0;
  }
  g_armed = armed ? 1 : 0;
}

JumpCause last_jump_cause() { return {g_jump_signal, g_jump_address, g_jump_from_initializer != 0}; }

void release_locks_left_by_initializer() {
  if (g_tracker) g_tracker->release_down_to(g_held_at_arm);
}

int reset_after_unwind() {
  // A jump out of printf leaves stdout's or stderr's recursive lock held by
  // this thread: release it, or other threads printing would block forever.
  for (FILE* f : {stdout, stderr})
    for (int i = 0; i < 64 && stdio_locked_by_me(f); ++i) funlockfile(f);
  const int levels = g_user_depth.load();
  g_user_depth.store(0);
  g_locks.store(g_locks_at_arm);
  g_held_count = g_held_at_arm;
  return levels;
}

int force_signal() {
  if (g_force_signal == 0) g_force_signal = SIGRTMIN + 4;
  return g_force_signal;
}

void force_signal_handler(int, siginfo_t*, void* context) {
  const int saved = errno;
  const Refusal refusal = jump_refusal(context);
  if (refusal == Refusal::kInterpreter && in_jumpable_initializer(context)) {
    g_jump_from_initializer = 1;
  } else if (refusal != Refusal::kNone) {
    g_refusal.store(interrupt_refusal_text(refusal));
    errno = saved;
    return;
  }
  g_refusal.store("");
  jump_to_landing(0, 0);
}

bool poke_cell_thread() {
  if (!g_cell_thread_known.load() || !g_armed) return false;
  pthread_kill(g_cell_thread, force_signal());
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

const char* recover_from_crash(int sig, siginfo_t* info, void* context) {
  if (!on_cell_thread())
    return "it happened in a thread other than the one that runs cells (one the cell started, or ROOT's or "
           "LibTorch's), which the host cannot unwind";
  // A signal sent from outside (kill -SEGV) is no fault of the cell's code:
  // only faults (si_code > 0) and raise()/abort() in this process recover.
  if (info && info->si_code <= 0 && info->si_pid != getpid()) return "another process sent it";
  const Refusal refusal = jump_refusal(context);
  if (refusal == Refusal::kInterpreter && in_jumpable_initializer(context)) g_jump_from_initializer = 1;
  else if (refusal != Refusal::kNone) return crash_refusal_text(refusal);
  jump_to_landing(sig, reinterpret_cast<std::uintptr_t>(info ? info->si_addr : nullptr));
}

}  // namespace host
