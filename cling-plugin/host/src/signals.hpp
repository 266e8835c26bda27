#pragma once
// Signals in the host:
// - crashes (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) in any thread: a
//   "crash" frame written async-signal-safely on the channel, then _exit;
// - SIGINT from outside: the same as an "interrupt" request;
// - the forced interrupt of a running cell: a signal to the thread that runs
//   cells, whose handler siglongjmps back to the host when, and only when,
//   that thread is in interpreted user code, holds none of ROOT's locks and
//   no malloc lock, and has no LibTorch/engine/thread-pool frame below it
//   (see PROTOCOL.md, "Interrupts").
#include <atomic>
#include <csetjmp>
#include <csignal>
#include <string>

namespace host {

class Channel;
class OutputCapture;

// Everything the crash handler needs, set up once at start.
void install_crash_handlers(Channel* channel, OutputCapture* capture);
// ROOT (TUnixSystem) and system() change signal dispositions: put ours back.
void reinstall_handlers();
// A directory the host created: removed on a crash when empty.
void set_crash_workdir(const std::string& dir);
// The id of the running request, for crash frames (nullptr: none).
void set_crash_context(const std::string* request_id_json);

// SIGINT: writes a byte to the returned fd's peer; the control thread polls it.
int install_sigint_pipe();

// --- forced interrupt --------------------------------------------------------
// Replaces ROOT's core mutex (after ROOT::EnableThreadSafety()) by a
// delegating one that sees the cell thread enter and leave user code (cling
// rewinds the interpreter lock there) and every ROOT lock it takes.
void install_user_code_tracker();
bool user_code_tracker_active();

enum class Phase : int { kIdle = 0, kCling = 1, kExternal = 2 };
// kCling: ProcessLine of a cell (forced interrupt allowed in user code);
// kExternal: a %%clad compile (children are killed instead).
void set_phase(Phase phase);
Phase phase();

// Libraries the forced interrupt never jumps out of (LibTorch, the engine,
// OpenMP/TBB pools): their code ranges, refreshed before each cell.
void refresh_unsafe_code_ranges();
// One more library (file name prefix, e.g. "libmylib.so") to treat so.
void add_unsafe_library(const std::string& name_prefix);
// The frame that called ProcessLine: the stack scan's upper end.
void set_landing_frame(const void* frame);

// The jump buffer of the running cell; armed only around ProcessLine.
extern sigjmp_buf g_cell_jump;
void arm_forced_interrupt(bool armed);
// After landing from a forced interrupt (or a C++ exception out of cling):
// resets the tracker's view of the cell thread to "outside the interpreter"
// and releases the stdout/stderr locks the jump may have left held.
// Returns the number of interpreter levels that were left without cleanup.
int reset_after_unwind();

// Control thread: asks the cell thread to jump out if it safely can.
// Returns false if the cell thread is not running a cell.
bool poke_cell_thread();
// Why the last poke did not jump (for the log / reply), or "" if it did.
const char* last_refusal();
// The return address into unsafe code that the last refusal found (debug).
std::string last_unsafe_frame();
// Kills the host's child processes and their descendants (a %%clad compile).
// Sets *killing (if given) before the first kill.
int kill_child_processes(std::atomic<bool>* killing = nullptr);

void register_cell_thread();  // call from the thread that runs cells

}  // namespace host
