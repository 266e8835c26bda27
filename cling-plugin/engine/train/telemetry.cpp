#include "train/telemetry.hpp"

#include <atomic>

namespace torchclad::telemetry {
namespace {
Sink& sink() {
  static Sink s;
  return s;
}
DisplaySink& display_sink() {
  static DisplaySink s;
  return s;
}
std::atomic<bool> stop_flag{false};
}  // namespace

void set_display_sink(DisplaySink s) { display_sink() = std::move(s); }
bool display(const std::string& mime, const std::string& data) {
  if (!display_sink()) return false;
  display_sink()(mime, data);
  return true;
}

void set_sink(Sink s) { sink() = std::move(s); }
bool has_sink() { return static_cast<bool>(sink()); }
Sink current_sink() { return sink(); }
void emit(const Event& event) {
  if (sink()) sink()(event);
}

void request_stop() { stop_flag.store(true); }
bool stop_requested() { return stop_flag.load(); }
void clear_stop() { stop_flag.store(false); }

}  // namespace torchclad::telemetry
