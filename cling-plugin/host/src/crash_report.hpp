#pragma once
// Crashes (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) in any thread. A crash
// in a cell's own code on the cell thread is recovered from (cell_jump.hpp):
// the cell gets an error reply and the session goes on. Any other crash is
// reported as a "crash" frame, written async-signal-safely on the channel
// with the reason the host cannot go on, and the host exits.
#include <csignal>
#include <string>

namespace host {

class Channel;
class OutputCapture;

// Everything the crash handler needs, set up once at start.
void install_crash_handlers(Channel* channel, OutputCapture* capture);
// The handler itself (signals.cpp installs it).
void crash_handler(int sig, siginfo_t* info, void* context);
// A directory the host created: removed on a crash when empty.
void set_crash_workdir(const std::string& dir);
// The id of the running request, for crash frames (nullptr: none).
void set_crash_context(const std::string* request_id_json);

// "SIGSEGV", ... and what it means, for replies and crash frames.
const char* signal_name(int sig);
const char* signal_meaning(int sig);

}  // namespace host
