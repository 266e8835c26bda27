#pragma once
// Processes that cells start: fork() in a cell, system(), background jobs,
// the compilers of a %%clad cell.
// - A process forked by a cell runs the rest of that cell, then ends: it
//   never writes on the host's channel (its copies of the channel fds are
//   /dev/null) and never runs the host's exit handlers.
// - When the host ends (shutdown, end of its channel, exit() in a cell, a
//   crash), it kills its descendants and the other members of its process
//   group (the bridge spawns it as a group leader), so a background job
//   whose parent is gone goes too.
#include <atomic>

namespace host {

// pthread_atfork: the child side neutralises the channel fds (dup'd from
// /dev/null), and dies with the host (PR_SET_PDEATHSIG) when the main
// thread forked it. Call from the main thread.
void guard_forks(int channel_in_fd, int channel_out_fd);
// True in a process forked by a cell (async-signal-safe).
bool in_forked_child();
// Flushes stdio and ends a forked child: at the end of its cell (it must not
// go back to the host's request loop), or when it calls exit() (ROOT's
// exit-time cleanups would write and close files the host has open).
[[noreturn]] void end_forked_child(int status = 0);

// Kills the host's descendants (a %%clad compile). Sets *killing (if given)
// before the first kill. Returns how many were killed.
int kill_child_processes(std::atomic<bool>* killing = nullptr);
// Kills the descendants and the other members of the host's process group
// when the host leads it. Async-signal-safe (the crash handler calls it).
int kill_cell_processes();
// kill_cell_processes(), then _exit(status).
[[noreturn]] void end_host(int status);

}  // namespace host
