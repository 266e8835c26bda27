#pragma once
// Which handler serves which signal in the host, installed at start and
// again before every cell (ROOT's TUnixSystem and system() change them):
// - SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT: the crash handler
//   (crash_report.hpp), on an alternate stack on the cell thread so that a
//   stack overflow is handled too;
// - the forced-interrupt signal: its handler (cell_jump.hpp);
// - SIGINT: a byte on a pipe that the control thread polls;
// - SIGPIPE: ignored (a closed channel is seen as a write error).

namespace host {

void reinstall_handlers();

// SIGINT: writes a byte to the returned fd's peer; the control thread polls it.
int install_sigint_pipe();

}  // namespace host
