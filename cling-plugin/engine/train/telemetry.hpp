#pragma once
// Training telemetry and cooperative stopping, shared by the trainer, the
// ROOT-facing API and the kernel host. Plain C++17 and the standard library
// only: ROOT's cling parses this header too.
//
// The trainer reports a run as events: "start", "step" (at most
// kMaxStepEventsPerSecond, plus the last step of each epoch), "epoch" and
// "end". One process-wide sink receives them (the kernel host forwards them
// to the notebook); with no sink installed, events cost one branch.
#include <functional>
#include <string>

namespace torchclad::telemetry {

inline constexpr double kMaxStepEventsPerSecond = 20;

struct Event {
  std::string kind;    // "start", "step", "epoch", "end"
  std::string run_id;  // unique per training run in this process
  std::string engine, model, optimizer;
  int batch = 0, threads = 0, epochs = 0;
  int epoch = 0;
  long long step = 0;                       // global step, from 1
  long long total_steps = 0;                // steps in the whole run
  double loss = 0;                          // "step": mean loss of the steps since the previous step event
  double test_loss = 0, test_accuracy = 0;  // "epoch"
  double test_auc = -1;           // "epoch", binary classifiers: ROC AUC on the test set (< 0: not measured)
  double samples_per_second = 0;  // over >= 0.25 s of training, tiny epochs too (train::Throughput)
  std::string status;             // "end": "finished", "stopped" (interrupt), "failed" (non-finite loss)
  std::string message;
};

using Sink = std::function<void(const Event&)>;

// Installs the sink (an empty function removes it). Not thread-safe against
// a run in progress: install before training.
void set_sink(Sink sink);
Sink current_sink();  // e.g. to remove the sink for a while and put it back
void emit(const Event& event);
bool has_sink();

// Rich output for notebooks: `data` (raw bytes for images) of MIME type
// `mime`, shown below the running cell by the kernel host, which installs
// the sink. Without a sink (root.exe, command-line tools) display() does
// nothing and returns false.
using DisplaySink = std::function<void(const std::string& mime, const std::string& data)>;
void set_display_sink(DisplaySink sink);
bool display(const std::string& mime, const std::string& data);

// A stop request (an interrupt from the kernel host, Ctrl-C in a command):
// the trainer checks it between steps and ends the run with status "stopped".
// Safe to call from a signal handler.
void request_stop();
bool stop_requested();
void clear_stop();

}  // namespace torchclad::telemetry
