#include "cell_processes.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <vector>

namespace host {
namespace {

pid_t g_host_pid = 0;
pthread_t g_main_thread;
int g_channel_fds[2] = {-1, -1};

// Runs in the child of every fork() of the host (pthread_atfork), before the
// child returns to the cell's code.
void on_fork_child() {
  // The channel fds stay occupied (a file the child opens must not take
  // their numbers, where a stray write would land) but lead nowhere.
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    for (int fd : g_channel_fds)
      if (fd >= 0 && fd != null_fd) ::dup3(null_fd, fd, O_CLOEXEC);
    ::close(null_fd);
  }
  // A child left running dies with the host, even when the host is killed.
  // The signal comes when the forking thread ends: only the main thread
  // (which runs cells) lives as long as the host.
  if (pthread_equal(pthread_self(), g_main_thread)) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
}

struct ProcEntry {
  int pid, ppid, pgrp;
};

// Parses a non-negative decimal; -1 if s is not one.
int parse_pid(const char* s) {
  if (!*s) return -1;
  long v = 0;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9' || v > 100000000) return -1;
    v = v * 10 + (*s - '0');
  }
  return static_cast<int>(v);
}

// ppid and pgrp from /proc/<pid>/stat ("pid (comm) state ppid pgrp ..."),
// with syscalls only.
bool read_stat(int pid, ProcEntry* entry) {
  char path[32] = "/proc/";
  char digits[12];
  int k = 0;
  for (int v = pid; v > 0 || k == 0; v /= 10) digits[k++] = static_cast<char>('0' + v % 10);
  int n = 6;
  while (k > 0) path[n++] = digits[--k];
  for (const char* s = "/stat"; *s; ++s) path[n++] = *s;
  path[n] = 0;
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[512];
  const ssize_t got = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (got <= 0) return false;
  buf[got] = 0;
  const char* p = nullptr;
  for (const char* c = buf; *c; ++c)
    if (*c == ')') p = c;  // comm may contain ')': the last one ends it
  if (!p) return false;
  p += 2;  // ") "
  if (!*p || !p[1]) return false;
  p += 2;  // state and its space
  int fields[2] = {0, 0};
  for (int& f : fields) {
    if (*p < '0' || *p > '9') return false;
    while (*p >= '0' && *p <= '9') f = f * 10 + (*p++ - '0');
    if (*p == ' ') ++p;
  }
  *entry = {pid, fields[0], fields[1]};
  return true;
}

int scan_processes(ProcEntry* out, int cap) {
  const int dir = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return 0;
  alignas(8) char buf[8192];
  int count = 0;
  for (;;) {
    const long n = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      const auto* d = reinterpret_cast<const dirent64*>(buf + off);
      off += d->d_reclen;
      const int pid = parse_pid(d->d_name);
      if (pid > 0 && count < cap && read_stat(pid, &out[count])) ++count;
    }
  }
  ::close(dir);
  return count;
}

// Kills the descendants of this process and, when group > 0, the members of
// that process group (and their descendants). Two passes catch children
// forked while the first one ran.
int kill_family(ProcEntry* procs, bool* picked, int cap, int group, std::atomic<bool>* killing) {
  const int self = static_cast<int>(::getpid());
  int killed = 0;
  for (int pass = 0; pass < 2; ++pass) {
    const int n = scan_processes(procs, cap);
    for (int i = 0; i < n; ++i) picked[i] = procs[i].pid != self && group > 0 && procs[i].pgrp == group;
    for (bool grew = true; grew;) {
      grew = false;
      for (int i = 0; i < n; ++i) {
        if (picked[i] || procs[i].pid == self) continue;
        bool parent_picked = procs[i].ppid == self;
        for (int j = 0; j < n && !parent_picked; ++j)
          parent_picked = picked[j] && procs[j].pid == procs[i].ppid;
        if (parent_picked) picked[i] = grew = true;
      }
    }
    for (int i = 0; i < n; ++i) {
      if (!picked[i]) continue;
      if (killing) killing->store(true);  // before the cell thread can see a failure
      if (::kill(procs[i].pid, SIGKILL) == 0) ++killed;
    }
  }
  return killed;
}

constexpr int kMaxProcesses = 32768;
ProcEntry g_procs[kMaxProcesses];  // kill_cell_processes' own: no allocation there
bool g_picked[kMaxProcesses];
std::atomic<bool> g_killing_cell_processes{false};

}  // namespace

void guard_forks(int channel_in_fd, int channel_out_fd) {
  g_host_pid = ::getpid();
  g_main_thread = pthread_self();
  g_channel_fds[0] = channel_in_fd;
  g_channel_fds[1] = channel_out_fd;
  pthread_atfork(nullptr, nullptr, on_fork_child);
}

bool in_forked_child() { return g_host_pid != 0 && ::getpid() != g_host_pid; }

void end_forked_child(int status) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  _exit(status);
}

int kill_child_processes(std::atomic<bool>* killing) {
  std::vector<ProcEntry> procs(kMaxProcesses);
  std::unique_ptr<bool[]> picked(new bool[kMaxProcesses]);
  return kill_family(procs.data(), picked.get(), kMaxProcesses, 0, killing);
}

int kill_cell_processes() {
  if (g_killing_cell_processes.exchange(true)) return 0;  // another thread is at it
  // The group only when the host leads it: else it is the group of whoever
  // started the host (a shell, a test runner).
  const int group = ::getpgrp() == ::getpid() ? static_cast<int>(::getpid()) : 0;
  const int killed = kill_family(g_procs, g_picked, kMaxProcesses, group, nullptr);
  g_killing_cell_processes.store(false);
  return killed;
}

void end_host(int status) {
  kill_cell_processes();
  _exit(status);
}

}  // namespace host
