#include "signals.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include "cell_jump.hpp"
#include "crash_report.hpp"

namespace host {
namespace {

int g_sigint_w = -1;
alignas(16) char g_altstack[256 * 1024];

void sigint_handler(int) {
  const int saved = errno;
  if (g_sigint_w >= 0) {
    char c = 'i';
    ssize_t ignored = ::write(g_sigint_w, &c, 1);
    (void)ignored;
  }
  errno = saved;
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

void reinstall_handlers() {
  if (on_cell_thread()) {
    stack_t ss;
    std::memset(&ss, 0, sizeof ss);
    ss.ss_sp = g_altstack;
    ss.ss_size = sizeof g_altstack;
    sigaltstack(&ss, nullptr);
  }
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) set_handler(sig, crash_handler, SA_ONSTACK);
  set_handler(force_signal(), force_signal_handler, SA_RESTART);
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = sigint_handler;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int install_sigint_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
  g_sigint_w = fds[1];
  return fds[0];
}

}  // namespace host
