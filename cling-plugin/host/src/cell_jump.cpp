#include "cell_jump.hpp"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <pthread.h>
#include <unistd.h>

#include "root_lock_tracker.hpp"
#include "stack_scan.hpp"

namespace host {

// Set by alloc_guard.cpp: > 0 while this thread is inside malloc and friends.
extern __thread int g_in_allocator;

sigjmp_buf g_cell_jump;

namespace {

// State shared with signal handlers: plain atomics and static buffers only.
pthread_t g_cell_thread;
std::atomic<bool> g_cell_thread_known{false};
int g_force_signal = 0;

std::atomic<int> g_phase{0};
volatile sig_atomic_t g_armed = 0;
LockMark g_locks_at_arm;  // ROOT's locks when the cell's ProcessLine began
std::atomic<const char*> g_refusal{""};
volatile sig_atomic_t g_jump_signal = 0;
volatile sig_atomic_t g_jump_from_initializer = 0;
std::uintptr_t g_jump_address = 0;

// Why the cell thread must not be jumped out of now (kNone: it may).
enum class Refusal { kNone, kNotArmed, kCompiling, kInterpreter, kRootLock, kMalloc, kTooDeep, kUnsafeCode };

Refusal jump_refusal(void* context) {
  if (!g_armed) return Refusal::kNotArmed;
  if (g_phase.load() != static_cast<int>(Phase::kCling)) return Refusal::kCompiling;
  if (user_code_depth() <= 0) return Refusal::kInterpreter;
  if (root_lock_taken_in_user_code()) return Refusal::kRootLock;
  if (g_in_allocator > 0) return Refusal::kMalloc;
  if (!stack_scannable(context)) return Refusal::kTooDeep;
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

bool in_jumpable_initializer(void* context) {
  return g_armed && g_phase.load() == static_cast<int>(Phase::kCling) && user_code_depth() == 0 &&
         root_locks_since(g_locks_at_arm) == kProcessLineLocks && g_in_allocator == 0 &&
         !stack_mentions_unsafe_code(context) && cell_code_on_stack(context);
}

// For interrupt_stuck and the log.
const char* interrupt_refusal_text(Refusal r) {
  switch (r) {
    case Refusal::kNotArmed:
      return "no cell is running in the interpreter";
    case Refusal::kCompiling:
      return "the cell is compiling";
    case Refusal::kInterpreter:
      return "the interpreter is compiling the cell (or is inside ROOT or a library while it runs a "
             "top-level "
             "variable's initializer)";
    case Refusal::kRootLock:
      return "the cell is inside ROOT (holding its lock)";
    case Refusal::kMalloc:
      return "the cell is inside malloc";
    case Refusal::kTooDeep:
      return "the cell's stack is deeper than the host checks (1 GiB) for LibTorch or engine frames";
    case Refusal::kUnsafeCode:
      return "the cell is inside LibTorch, the torchclad engine or a thread pool";
    case Refusal::kNone:
      break;
  }
  return "";
}

// For the crash frame: why the host cannot go on after this crash.
const char* crash_refusal_text(Refusal r) {
  switch (r) {
    case Refusal::kNotArmed:
      return "it happened outside a cell's code (in the host itself, or between cells)";
    case Refusal::kCompiling:
      return "it happened while a %%clad cell was being compiled";
    case Refusal::kInterpreter:
      return "it happened inside cling while it compiled the cell, not in the cell's code";
    case Refusal::kRootLock:
      return "it happened inside ROOT while ROOT's lock was held";
    case Refusal::kMalloc:
      return "it happened inside malloc/free: the heap is corrupt (a write out of bounds or after free?)";
    case Refusal::kTooDeep:
      return "the cell's stack was deeper than the host checks (1 GiB) for LibTorch or engine frames, "
             "which the host cannot unwind";
    case Refusal::kUnsafeCode:
      return "it happened inside LibTorch, the torchclad engine or a thread pool, whose state is unknown "
             "after it";
    case Refusal::kNone:
      break;
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

}  // namespace

void register_cell_thread() {
  g_cell_thread = pthread_self();
  g_cell_thread_known.store(true);
}

bool on_cell_thread() {
  return g_cell_thread_known.load(std::memory_order_relaxed) && pthread_equal(pthread_self(), g_cell_thread);
}

void set_phase(Phase p) { g_phase.store(static_cast<int>(p)); }
Phase phase() { return static_cast<Phase>(g_phase.load()); }

void arm_cell_jump(bool armed) {
  if (armed) {
    g_locks_at_arm = mark_root_locks();
    g_refusal.store("");
    g_jump_signal = 0;
    g_jump_address = 0;
    g_jump_from_initializer = 0;
  }
  g_armed = armed ? 1 : 0;
}

JumpCause last_jump_cause() { return {g_jump_signal, g_jump_address, g_jump_from_initializer != 0}; }

void release_locks_left_by_initializer() { release_root_locks_since(g_locks_at_arm); }

int reset_after_unwind() {
  // A jump out of printf leaves stdout's or stderr's recursive lock held by
  // this thread: release it, or other threads printing would block forever.
  for (FILE* f : {stdout, stderr})
    for (int i = 0; i < 64 && stdio_locked_by_me(f); ++i) funlockfile(f);
  return forget_user_code_levels(g_locks_at_arm);
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

const char* recover_from_crash(int sig, siginfo_t* info, void* context) {
  if (!on_cell_thread())
    return "it happened in a thread other than the one that runs cells (one the cell started, or ROOT's or "
           "LibTorch's), which the host cannot unwind";
  // A signal sent from outside (kill -SEGV) is no fault of the cell's code:
  // only faults (si_code > 0) and raise()/abort() in this process recover.
  if (info && info->si_code <= 0 && info->si_pid != getpid()) return "another process sent it";
  const Refusal refusal = jump_refusal(context);
  if (refusal == Refusal::kInterpreter && in_jumpable_initializer(context))
    g_jump_from_initializer = 1;
  else if (refusal != Refusal::kNone)
    return crash_refusal_text(refusal);
  jump_to_landing(sig, reinterpret_cast<std::uintptr_t>(info ? info->si_addr : nullptr));
}

bool refused_for_unsafe_code(const char* reason) {
  return reason == crash_refusal_text(Refusal::kUnsafeCode);
}

}  // namespace host
