#include "jit_code.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace host {
namespace {

// Parses hex digits at *p, advancing it.
std::uintptr_t parse_hex(const char*& p) {
  std::uintptr_t v = 0;
  for (;; ++p) {
    const char c = *p;
    if (c >= '0' && c <= '9')
      v = v * 16 + static_cast<std::uintptr_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      v = v * 16 + static_cast<std::uintptr_t>(c - 'a' + 10);
    else
      return v;
  }
}

// One line of /proc/self/maps: "begin-end perms offset dev inode [path]".
// True for an executable mapping with no inode and no name ([vdso] has one).
bool is_jit_line(const char* line, AddressRange* range) {
  const char* p = line;
  range->begin = parse_hex(p);
  if (*p++ != '-') return false;
  range->end = parse_hex(p);
  if (*p++ != ' ' || p[0] == 0 || p[1] == 0 || p[2] != 'x') return false;
  for (int field = 0; field < 3; ++field) {  // perms, offset, dev
    while (*p && *p != ' ') ++p;
    while (*p == ' ') ++p;
  }
  if (p[0] != '0' || (p[1] != ' ' && p[1] != 0)) return false;  // inode 0
  ++p;
  while (*p == ' ') ++p;
  return *p == 0;  // no path
}

}  // namespace

int read_jit_ranges(AddressRange* out, int cap) {
  const int fd = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[4096];
  char line[512];
  std::size_t used = 0;
  int count = 0;
  for (;;) {
    const ssize_t got = ::read(fd, buf, sizeof buf);
    if (got <= 0) break;
    for (ssize_t i = 0; i < got; ++i) {
      if (buf[i] != '\n') {
        if (used + 1 < sizeof line) line[used++] = buf[i];
        continue;
      }
      line[used] = 0;
      used = 0;
      AddressRange range;
      if (count < cap && is_jit_line(line, &range)) out[count++] = range;
    }
  }
  ::close(fd);
  return count;
}

}  // namespace host
