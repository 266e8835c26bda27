#include "cell_timing.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "channel.hpp"

namespace host::timing {
namespace {

using Clock = std::chrono::steady_clock;

const bool g_enabled = [] {
  const char* v = std::getenv("TORCHCLAD_TIMING");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}();

constexpr int kMaxMarks = 32;
std::atomic<std::int64_t> g_frame{0};    // ns: the latest frame (control thread)
std::atomic<std::int64_t> g_arrived{0};  // ns: the latest execute's frame
struct Mark {
  const char* step;
  std::int64_t ns;
};
Mark g_marks[kMaxMarks];  // cell thread only
int g_count = 0;
std::int64_t g_start = 0;  // the dequeued request's frame (cell thread)
int g_log_fd = -1;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

}  // namespace

bool enabled() { return g_enabled; }

void set_log_fd(int fd) { g_log_fd = fd; }

void frame_arrived() {
  if (g_enabled) g_frame.store(now_ns());
}

void execute_queued() {
  if (g_enabled) g_arrived.store(g_frame.load());
}

void dequeued() {
  if (!g_enabled) return;
  g_count = 0;
  // Now, not at finish(): the next execute's frame may arrive as soon as
  // this one's reply is out.
  g_start = g_arrived.load();
  mark("dequeued");
}

void mark(const char* step) {
  if (!g_enabled || g_count >= kMaxMarks) return;
  g_marks[g_count++] = {step, now_ns()};
}

void finish(const char* what) {
  if (!g_enabled) return;
  const std::int64_t start = g_start;
  // The frame's arrival on the monotonic clock (the bridge's
  // process.hrtime is the same clock): transit times between the two.
  std::string line =
      std::string("[timing] host ") + what + " us from frame: start_ns=" + std::to_string(start);
  std::int64_t previous = start;
  for (int i = 0; i < g_count; ++i) {
    char buf[96];
    std::snprintf(buf, sizeof buf, " %s=%.0f(+%.0f)", g_marks[i].step, (g_marks[i].ns - start) / 1e3,
                  (g_marks[i].ns - previous) / 1e3);
    line += buf;
    previous = g_marks[i].ns;
  }
  line += "\n";
  g_count = 0;
  if (g_log_fd >= 0) write_all(g_log_fd, line.data(), line.size());
}

}  // namespace host::timing
