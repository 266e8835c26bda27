#pragma once
// Jumping out of the cell thread back into the host: the forced interrupt
// (a signal the control thread sends) and the recovery from a crash in a
// cell's own code (SIGSEGV, SIGABRT, ...). Both siglongjmp from a signal
// handler to the frame that called ProcessLine (cells.cpp), and only when
// that is safe enough: the thread is in interpreted user code, holds none of
// ROOT's locks taken since (root_lock_tracker.hpp), is not inside malloc,
// and has no LibTorch, engine or thread-pool frame below it (stack_scan.hpp;
// PROTOCOL.md, "Interrupts").
#include <csetjmp>
#include <csignal>
#include <cstdint>

namespace host {

void register_cell_thread();  // call from the thread that runs cells
bool on_cell_thread();        // async-signal-safe

enum class Phase : int { kIdle = 0, kCling = 1, kExternal = 2 };
// kCling: ProcessLine of a cell (jumps allowed in user code);
// kExternal: a %%clad compile (children are killed instead).
void set_phase(Phase phase);
Phase phase();

// The jump buffer of the running cell; jumps are armed only around ProcessLine.
extern sigjmp_buf g_cell_jump;
void arm_cell_jump(bool armed);

// Why the cell thread landed (read after sigsetjmp returned non-zero).
struct JumpCause {
  int signal = 0;              // 0: forced interrupt; else the crash signal recovered from
  std::uintptr_t address = 0;  // si_addr of the crash
  // The jump left the initializer of a cell's top-level variable, which
  // cling runs while ProcessLine holds ROOT's lock: the landing calls
  // release_locks_left_by_initializer() and forgets one mutex state.
  bool from_initializer = false;
};
JumpCause last_jump_cause();
void release_locks_left_by_initializer();

// After landing (or a C++ exception out of cling): resets the tracker's view
// of the cell thread to "outside the interpreter" and releases the
// stdout/stderr locks the jump may have left held. Returns the number of
// interpreter levels that were left without cleanup.
int reset_after_unwind();

// --- forced interrupt (control thread) ---------------------------------------
int force_signal();  // the signal sent to the cell thread (SIGRTMIN+4)
void force_signal_handler(int sig, siginfo_t* info, void* context);
// Asks the cell thread to jump out if it safely can. Returns false if the
// cell thread is not running a cell.
bool poke_cell_thread();
// Why the last poke did not jump (for the log / reply), or "" if it did.
const char* last_refusal();

// --- crash recovery (crash handler, async-signal-safe) -------------------------
// Jumps back into the host when the crash came from the running cell's own
// code on the cell thread. Otherwise returns why the host cannot go on.
const char* recover_from_crash(int sig, siginfo_t* info, void* context);
// True if `reason` (from recover_from_crash) says unsafe code was on the
// stack: stack_scan's last_unsafe_return_address names the frame.
bool refused_for_unsafe_code(const char* reason);

}  // namespace host
