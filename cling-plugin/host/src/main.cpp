// torchclad-host: ROOT's cling with the torchclad engine, driven by the
// kernel bridge over a private framed channel (PROTOCOL.md).
//
// Threads: the main thread runs cells (cling wants one thread); the control
// thread reads requests, answers interrupts at once and queues the rest; the
// capture thread forwards output; telemetry is sent from whichever thread
// trains.
#include <TROOT.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <ctime>
#include <functional>
#include <mutex>
#include <poll.h>
#include <pthread.h>
#include <csignal>
#include <string>
#include <thread>
#include <unistd.h>
#include <unordered_map>

#include "capture.hpp"
#include "cell_jump.hpp"
#include "cell_processes.hpp"
#include "cell_timing.hpp"
#include "cells.hpp"
#include "cling_noise.hpp"
#include "channel.hpp"
#include "crash_report.hpp"
#include "inspect.hpp"
#include "messages.hpp"
#include "root_lock_tracker.hpp"
#include "root_names.hpp"
#include "signals.hpp"
#include "stack_scan.hpp"
#include "thread_origin.hpp"
#include "torchclad/telemetry.h"
#include "torchclad/torchclad.h"

namespace host {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int in_fd = 3, out_fd = 4;
  std::string workdir;
  double interrupt_grace = 1.0;
  std::string engine_library = TORCHCLAD_ROOT_LIBRARY;
  std::string include_dir = TORCHCLAD_ROOT_INCLUDE;
};

const char* kUsage =
    "usage: torchclad-host [--in-fd N] [--out-fd N] [--fd N] [--workdir DIR]\n"
    "                      [--interrupt-grace SECONDS] [--engine-library PATH] [--include-dir DIR]\n"
    "                      [--no-jump-library NAME_PREFIX]...\n"
    "Requests are read from --in-fd (default 3), events written to --out-fd (default 4);\n"
    "--fd N uses one socket for both. Frames: 4-byte big-endian length + UTF-8 JSON.\n"
    "See PROTOCOL.md.\n";

bool parse_options(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "torchclad-host: %s needs a value\n%s", name, kUsage);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--in-fd")
      o->in_fd = std::atoi(value("--in-fd"));
    else if (a == "--out-fd")
      o->out_fd = std::atoi(value("--out-fd"));
    else if (a == "--fd")
      o->in_fd = o->out_fd = std::atoi(value("--fd"));
    else if (a == "--workdir")
      o->workdir = value("--workdir");
    else if (a == "--interrupt-grace")
      o->interrupt_grace = std::atof(value("--interrupt-grace"));
    else if (a == "--engine-library")
      o->engine_library = value("--engine-library");
    else if (a == "--include-dir")
      o->include_dir = value("--include-dir");
    else if (a == "--no-jump-library")
      add_unsafe_library(value("--no-jump-library"));
    else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else {
      std::fprintf(stderr, "torchclad-host: unknown argument %s\n%s", a.c_str(), kUsage);
      return false;
    }
  }
  return true;
}

class Host {
 public:
  Host(const Options& options, Channel& channel, OutputCapture& capture, Cells& cells)
      : options_(options), channel_(channel), capture_(capture), cells_(cells) {}

  void log(const std::string& text) {
    std::string line = "[torchclad-host] " + text + "\n";
    write_all(capture_.original_stderr(), line.data(), line.size());
  }

  nlohmann::json current_id() {
    std::lock_guard<std::mutex> lock(id_mutex_);
    return current_id_;
  }

  void on_output(const char* name, const std::string& text) {
    if (std::strcmp(name, "stderr") == 0) {
      // cling's shadowing warning becomes a plain note (cling_noise.hpp).
      const SoftenedOutput soft = soften_cling_noise(text);
      if (!soft.stdout_note.empty())
        channel_.send(
            {{"type", "stream"}, {"id", current_id()}, {"name", "stdout"}, {"text", soft.stdout_note}});
      if (!soft.stderr_text.empty())
        channel_.send({{"type", "stream"}, {"id", current_id()}, {"name", name}, {"text", soft.stderr_text}});
      return;
    }
    channel_.send({{"type", "stream"}, {"id", current_id()}, {"name", name}, {"text", text}});
  }

  // Telemetry and displays from a process forked by a cell are dropped: it
  // may not use the channel (nor this mutex, which another thread may have
  // held at the fork). Both carry the execute request they belong to: the
  // one that started the sending thread, e.g. a training run on a thread a
  // cell detached, which may send while later cells run (thread_origin.hpp).
  //
  // Output the code printed before a telemetry event or a display goes out
  // first (forward_written): the training display and its updates, an image
  // and the progress lines on stderr come in the order the code made them.
  void on_telemetry(const torchclad::telemetry::Event& event) {
    if (in_forked_child()) return;
    capture_.forward_written();
    channel_.send(
        {{"type", "telemetry"}, {"id", execute_of_this_thread()}, {"event", telemetry_event(event)}});
  }

  // torchclad::show / telemetry::display: images go base64-encoded, as
  // Jupyter's display_data carries them; text types (SVG) as they are.
  void on_display(const std::string& mime, const std::string& data) {
    if (in_forked_child()) return;
    capture_.forward_written();  // output printed before the image comes before it
    const bool binary = mime.rfind("image/", 0) == 0 && mime != "image/svg+xml";
    channel_.send({{"type", "display"},
                   {"id", execute_of_this_thread()},
                   {"mime", mime},
                   {"data", binary ? base64(data) : data}});
  }

  // --- control thread ------------------------------------------------------
  void control_loop(int sigint_fd) {
    sigset_t sigint_set;
    sigemptyset(&sigint_set);
    sigaddset(&sigint_set, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &sigint_set, nullptr);
    pollfd fds[2] = {{channel_.in_fd(), POLLIN, 0}, {sigint_fd, POLLIN, 0}};
    for (;;) {
      const int timeout = escalating() ? 20 : -1;
      int rc = ::poll(fds, 2, timeout);
      if (rc < 0 && errno != EINTR) {
        log(std::string("poll: ") + std::strerror(errno));
        return peer_gone();
      }
      if (rc > 0 && fds[0].revents) {
        std::string frame;
        switch (channel_.read_frame(&frame)) {
          case Channel::ReadStatus::kFrame:
            timing::frame_arrived();
            handle_frame(frame);
            break;
          case Channel::ReadStatus::kTooLarge:
            channel_.send(error_message(nullptr, "FrameTooLarge",
                                        "a frame of " + frame + " bytes (the limit is " +
                                            std::to_string(kMaxFrameBytes) + "): skipped"));
            break;
          case Channel::ReadStatus::kEof:
          case Channel::ReadStatus::kIoError:
            return peer_gone();
        }
      }
      if (rc > 0 && fds[1].revents) {
        char buf[64];
        while (::read(sigint_fd, buf, sizeof buf) > 0) {
        }
        log("SIGINT: interrupting the running cell");
        interrupt(nullptr, /*reply=*/false);
      }
      escalate();
    }
  }

  void handle_frame(const std::string& frame) {
    nlohmann::json msg;
    try {
      msg = nlohmann::json::parse(frame);
    } catch (const nlohmann::json::exception& e) {
      channel_.send(
          error_message(nullptr, "BadJson", std::string("the frame is not UTF-8 JSON: ") + e.what()));
      return;
    }
    if (!msg.is_object() || !msg.contains("type") || !msg["type"].is_string()) {
      channel_.send(error_message(msg.is_object() && msg.contains("id") ? msg["id"] : nlohmann::json(nullptr),
                                  "BadMessage", "a message is a JSON object with a string \"type\""));
      return;
    }
    const nlohmann::json id = msg.value("id", nlohmann::json(nullptr));
    const std::string type = msg["type"];
    if (type == "interrupt") return interrupt(id, /*reply=*/true);
    if (type == "shutdown") {
      push(msg, /*front=*/true);
      if (running_.load()) {
        interrupt(nullptr, false, /*now=*/true);
        // A cell that cannot be interrupted does not keep the host alive.
        std::thread([this, id] {
          std::this_thread::sleep_for(std::chrono::seconds(3));
          if (!running_.load()) return;
          log("shutdown: the running cell did not stop; exiting anyway");
          channel_.send({{"type", "shutdown_reply"}, {"id", id}});
          end_host(0);
        }).detach();
      }
      return;
    }
    if (type == "execute") {
      if (!msg.contains("code") || !msg["code"].is_string())
        return (void)channel_.send(error_message(id, "BadMessage", "execute needs a string \"code\""));
      if (msg.contains("silent") && !msg["silent"].is_boolean())
        return (void)channel_.send(error_message(id, "BadMessage", "execute: \"silent\" is a boolean"));
      if (msg.contains("cell_id") && !msg["cell_id"].is_string() && !msg["cell_id"].is_null())
        return (void)channel_.send(error_message(id, "BadMessage", "execute: \"cell_id\" is a string"));
      timing::execute_queued();
      return push(msg);
    }
    if (type == "complete" || type == "inspect") {
      if (!msg.contains("code") || !msg["code"].is_string())
        return (void)channel_.send(error_message(id, "BadMessage", type + " needs a string \"code\""));
      if (msg.contains("cursor_pos") && !msg["cursor_pos"].is_number_integer())
        return (void)channel_.send(error_message(id, "BadMessage", type + ": \"cursor_pos\" is an integer"));
      return push(msg);
    }
    channel_.send(error_message(id, "UnknownType", "unknown message type \"" + type + "\""));
  }

  void interrupt(const nlohmann::json& id, bool reply, bool now = false) {
    const bool was_running = running_.load();
    if (reply)
      channel_.send(
          {{"type", "interrupt_reply"}, {"id", id}, {"running", was_running}, {"target", current_id()}});
    if (!was_running) return;
    // Cooperative first: the engine's training loops check the stop flag
    // between steps, ROOT's event loops check gROOT->IsInterrupted().
    cells_.interrupt_requested.store(true);
    torchclad::telemetry::request_stop();
    gROOT->SetInterrupt(kTRUE);
    std::lock_guard<std::mutex> lock(interrupt_mutex_);
    const auto t = Clock::now();
    if (!interrupt_pending_) {
      interrupt_pending_ = true;
      stuck_reported_ = false;
      force_at_ = now ? t : t + std::chrono::milliseconds(static_cast<long>(options_.interrupt_grace * 1000));
    } else {
      force_at_ = t;  // a second interrupt does not wait for the grace period
    }
  }

  bool escalating() {
    std::lock_guard<std::mutex> lock(interrupt_mutex_);
    return interrupt_pending_ && running_.load();
  }

  // Past the grace period: ask the cell thread to jump out (it refuses while
  // compiling, inside ROOT, malloc or stdio, and is asked again 20 ms later),
  // or kill the compiler of a %%clad cell.
  void escalate() {
    std::lock_guard<std::mutex> lock(interrupt_mutex_);
    if (!interrupt_pending_ || !running_.load() || Clock::now() < force_at_) return;
    if (!stuck_reported_ && Clock::now() - force_at_ > std::chrono::seconds(2)) {
      // Tell the bridge why the cell does not stop; it may restart the host.
      stuck_reported_ = true;
      const char* reason = phase() == Phase::kExternal ? "the %%clad compiler does not stop" : last_refusal();
      log(std::string("interrupt: the cell does not stop: ") + reason + " " + last_unsafe_frame());
      channel_.send({{"type", "interrupt_stuck"}, {"id", current_id()}, {"reason", reason}});
    }
    if (phase() == Phase::kExternal) {
      if (Clock::now() - last_kill_ > std::chrono::milliseconds(300)) {
        last_kill_ = Clock::now();
        kill_child_processes(&cells_.children_killed);
      }
      return;
    }
    poke_cell_thread();
  }

  void peer_gone() {
    log("the channel closed: exiting");
    push({{"type", "shutdown"}, {"id", nullptr}, {"silent", true}}, /*front=*/true);
    if (running_.load()) interrupt(nullptr, false, /*now=*/true);
    std::thread([] {
      std::this_thread::sleep_for(std::chrono::seconds(5));
      end_host(0);
    }).detach();
  }

  void push(nlohmann::json msg, bool front = false) {
    {
      std::lock_guard<std::mutex> lock(queue_mutex_);
      if (front)
        queue_.push_front(std::move(msg));
      else
        queue_.push_back(std::move(msg));
    }
    queue_cv_.notify_one();
  }

  // --- cell thread ---------------------------------------------------------
  void serve() {
    const std::unordered_map<std::string, std::function<void(const nlohmann::json&)>> handlers = {
        {"execute", [this](const nlohmann::json& m) { do_execute(m); }},
        {"complete", [this](const nlohmann::json& m) { do_complete(m); }},
        {"inspect", [this](const nlohmann::json& m) { do_inspect(m); }},
        {"shutdown", [this](const nlohmann::json& m) { do_shutdown(m); }},
    };
    for (;;) {
      nlohmann::json msg;
      {
        std::unique_lock<std::mutex> lock(queue_mutex_);
        queue_cv_.wait(lock, [this] { return !queue_.empty(); });
        msg = std::move(queue_.front());
        queue_.pop_front();
      }
      timing::dequeued();
      try {
        handlers.at(msg["type"].get<std::string>())(msg);
      } catch (const std::exception& e) {  // a bug of ours: report it, keep serving
        end_request();
        log(std::string("internal error: ") + e.what());
        channel_.send(error_message(msg.value("id", nlohmann::json(nullptr)), "InternalError", e.what()));
      }
    }
  }

  void begin_request(const nlohmann::json& id) {
    {
      std::lock_guard<std::mutex> lock(id_mutex_);
      current_id_ = id;
    }
    const std::string id_json = id.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    set_crash_context(&id_json);
  }
  void end_request() {
    set_running_execute(nullptr);  // also after an internal error
    std::lock_guard<std::mutex> lock(id_mutex_);
    current_id_ = nullptr;
    set_crash_context(nullptr);
  }

  void do_execute(const nlohmann::json& msg) {
    const nlohmann::json id = msg.value("id", nlohmann::json(nullptr));
    if (!msg.value("silent", false)) ++execution_count_;
    begin_request(id);
    cells_.interrupt_requested.store(false);
    cells_.children_killed.store(false);
    torchclad::telemetry::clear_stop();
    gROOT->SetInterrupt(kFALSE);
    running_.store(true);
    set_running_execute(id);
    const nlohmann::json cell_id = msg.value("cell_id", nlohmann::json(nullptr));
    timing::mark("started");
    CellResult result =
        cells_.execute(msg["code"].get<std::string>(), cell_id.is_string() ? cell_id.get<std::string>() : "");
    set_running_execute(nullptr);
    running_.store(false);
    {
      std::lock_guard<std::mutex> lock(interrupt_mutex_);
      interrupt_pending_ = false;
    }
    if (result.interrupt == "forced") log(std::string("forced interrupt of cell ") + id.dump());
    if (result.crash_signal)
      log(std::string("recovered from ") + signal_name(result.crash_signal) + " in cell " + id.dump());
    // Every execute received is run: aborting the cells queued behind a
    // failed one (stop_on_error) is the bridge's, which holds the queue.
    // Canvases the cell drew, then its value, then the reply (PROTOCOL.md).
    // One write for all of them (Channel::send_all).
    std::vector<nlohmann::json> frames;
    for (const auto& shown : result.displays)
      frames.push_back(
          {{"type", "display"}, {"id", id}, {"data", shown["data"]}, {"metadata", shown["metadata"]}});
    if (!result.value.is_null())
      frames.push_back({{"type", "execute_result"},
                        {"id", id},
                        {"data", result.value["data"]},
                        {"metadata", result.value["metadata"]}});
    frames.push_back(execute_reply(id, result, execution_count_));
    timing::mark("reply_built");
    channel_.send_all(frames);
    timing::mark("reply_sent");
    end_request();
    timing::finish("execute");
  }

  // Shutting down: the executes still queued are answered, not run.
  std::deque<nlohmann::json> take_queued_executes() {
    std::deque<nlohmann::json> dropped, kept;
    std::lock_guard<std::mutex> lock(queue_mutex_);
    for (auto& m : queue_) (m["type"] == "execute" ? dropped : kept).push_back(std::move(m));
    queue_.swap(kept);
    return dropped;
  }

  void reply_not_run(const std::deque<nlohmann::json>& dropped) {
    for (const auto& m : dropped) {
      CellResult r;
      r.status = "aborted";
      r.ename = "NotRun";
      r.evalue = "not run: the host is shutting down";
      channel_.send(execute_reply(m.value("id", nlohmann::json(nullptr)), r, execution_count_));
    }
  }

  void do_complete(const nlohmann::json& msg) {
    const nlohmann::json id = msg.value("id", nlohmann::json(nullptr));
    const std::string code = msg["code"];
    begin_request(id);
    nlohmann::json reply = cells_.complete(code, msg.value("cursor_pos", static_cast<long>(code.size())));
    reply["type"] = "complete_reply";
    reply["id"] = id;
    reply["status"] = "ok";
    channel_.send(reply);
    end_request();
  }

  void do_inspect(const nlohmann::json& msg) {
    const nlohmann::json id = msg.value("id", nlohmann::json(nullptr));
    const std::string code = msg["code"];
    begin_request(id);
    nlohmann::json reply =
        inspect_symbol(code, msg.value("cursor_pos", static_cast<long>(code.size())), options_.include_dir);
    capture_.drain();  // what loading a class printed
    reply["type"] = "inspect_reply";
    reply["id"] = id;
    reply["status"] = "ok";
    channel_.send(reply);
    end_request();
  }

  void do_shutdown(const nlohmann::json& msg) {
    reply_not_run(take_queued_executes());
    const nlohmann::json id = msg.value("id", nlohmann::json(nullptr));
    const bool silent = msg.value("silent", false);
    // ROOT's end-of-process cleanups close the files cells left open; a
    // watchdog ends the process if they hang.
    std::thread([this, id, silent] {
      std::this_thread::sleep_for(std::chrono::seconds(5));
      if (!silent) channel_.send({{"type", "shutdown_reply"}, {"id", id}});
      end_host(0);
    }).detach();
    begin_request(id);
    gROOT->EndOfProcessCleanups();
    capture_.drain();
    end_request();
    if (!silent) channel_.send({{"type", "shutdown_reply"}, {"id", id}});
    if (created_workdir_) {
      std::error_code ignored;
      std::filesystem::remove_all(options_.workdir, ignored);
    }
    end_host(0);
  }

  bool created_workdir_ = false;

 private:
  const Options& options_;
  Channel& channel_;
  OutputCapture& capture_;
  Cells& cells_;

  std::mutex id_mutex_;
  nlohmann::json current_id_ = nullptr;
  long execution_count_ = 0;
  std::atomic<bool> running_{false};

  std::mutex interrupt_mutex_;
  bool interrupt_pending_ = false, stuck_reported_ = false;
  Clock::time_point force_at_, last_kill_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<nlohmann::json> queue_;
};

bool fd_is_open(int fd) { return fd >= 0 && ::fcntl(fd, F_GETFD) != -1; }

// Seconds since the kernel started this process (exec), from
// /proc/self/stat's start time (clock ticks after boot): includes the
// dynamic loading of ROOT and LibTorch before main(). -1 if unknown.
double seconds_since_exec() {
  std::ifstream f("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const std::size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 1));
  std::string field;
  for (int i = 3; i <= 22 && (fields >> field); ++i) {
  }
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  try {
    return static_cast<double>(now.tv_sec) + now.tv_nsec * 1e-9 -
           std::stod(field) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  } catch (...) {
    return -1;
  }
}

}  // namespace
}  // namespace host

int main(int argc, char** argv) {
  using namespace host;
  const auto t0 = Clock::now();
  // A child of the host that lists ROOT's names for completion (root_names.hpp).
  if (argc == 3 && std::strcmp(argv[1], "--list-root-names") == 0) return list_root_names(argv[2]);
  Options options;
  if (!parse_options(argc, argv, &options)) return 2;
  if (!fd_is_open(options.in_fd) || !fd_is_open(options.out_fd)) {
    std::fprintf(stderr,
                 "torchclad-host: the channel fds %d (requests) and %d (events) are not open; the "
                 "kernel bridge passes them (see PROTOCOL.md)\n%s",
                 options.in_fd, options.out_fd, kUsage);
    return 2;
  }
  // The channel stays private: compilers and other children do not inherit
  // it, and a process forked by a cell cannot write on it.
  for (int fd : {options.in_fd, options.out_fd}) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  guard_forks(options.in_fd, options.out_fd);
  // Cells cannot read input: stdin is /dev/null.
  if (int devnull = ::open("/dev/null", O_RDONLY); devnull >= 0) {
    ::dup2(devnull, 0);
    if (devnull != 0) ::close(devnull);
  }
  register_cell_thread();
  // SIGINT goes to the control thread only (it unblocks it): every other
  // thread, including those ROOT and LibTorch start, inherits this mask.
  sigset_t sigint_set;
  sigemptyset(&sigint_set);
  sigaddset(&sigint_set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigint_set, nullptr);

  Channel channel(options.in_fd, options.out_fd);
  OutputCapture capture;
  std::string error;
  if (!capture.redirect(&error)) {
    std::fprintf(stderr, "torchclad-host: %s\n", error.c_str());
    return 1;
  }
  bool created_workdir = false;
  if (options.workdir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/torchclad-host-XXXXXX";
    if (!::mkdtemp(templ.data())) {
      std::fprintf(stderr, "torchclad-host: mkdtemp %s: %s\n", templ.c_str(), std::strerror(errno));
      return 1;
    }
    options.workdir = templ;
    created_workdir = true;
  } else {
    std::error_code ec;
    std::filesystem::create_directories(options.workdir, ec);
  }

  Cells cells(capture, options.workdir);
  Host host(options, channel, capture, cells);
  host.created_workdir_ = created_workdir;
  install_crash_handlers(&channel, &capture);  // before ROOT: crashes while starting are reported too
  reinstall_handlers();
  const EngineInfo engine = cells.start(options.engine_library, options.include_dir);
  reinstall_handlers();  // ROOT's TUnixSystem installed its own
  const int sigint_fd = install_sigint_pipe();
  torchclad::telemetry::set_sink([&host](const torchclad::telemetry::Event& e) { host.on_telemetry(e); });
  // The live training display shows a fit here: no progress bar on stderr
  // unless a cell asks for it (TrainOptions::progress = true).
  torchclad::set_default_progress(false);
  torchclad::telemetry::set_display_sink(
      [&host](const std::string& mime, const std::string& data) { host.on_display(mime, data); });
  // A cell that calls exit(): the last message says so, and the processes
  // cells started end with the host (the host's own exits use _exit and
  // skip this). A process forked by a cell that calls exit() ends at once:
  // this handler, registered after ROOT's, runs before them.
  static Host* exiting_host = &host;
  static Channel* exiting_channel = &channel;
  static OutputCapture* exiting_capture = &capture;
  static std::string exiting_workdir = created_workdir ? options.workdir : "";
  ::on_exit(
      [](int status, void*) {
        if (in_forked_child()) end_forked_child(status);
        exiting_capture->drain();
        exiting_channel->send({{"type", "exit"}, {"id", exiting_host->current_id()}, {"status", status}});
        if (!exiting_workdir.empty()) {
          std::error_code ignored;
          std::filesystem::remove_all(exiting_workdir, ignored);
        }
        kill_cell_processes();
      },
      nullptr);
  if (created_workdir) set_crash_workdir(options.workdir);
  timing::set_log_fd(capture.original_stderr());

  nlohmann::json hello = {
      {"type", "hello"},
      {"protocol_version", kProtocolVersion},
      {"pid", static_cast<long>(::getpid())},
      {"versions", versions()},
      {"engine",
       {{"loaded", engine.loaded},
        {"library", engine.library},
        {"include_dir", engine.include_dir},
        {"error", engine.error}}},
      {"clad", {{"available", engine.clad_available}, {"error", engine.clad_error}}},
      {"forced_interrupt", user_code_tracker_active()},
      {"interrupt_grace_seconds", options.interrupt_grace},
      {"max_cell_bytes", kMaxCellBytes},
      {"workdir", options.workdir},
  };
  hello["startup_seconds"] = seconds_since_exec();  // 10 ms resolution
  hello["startup_main_seconds"] = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!channel.send(hello)) return 1;
  // Output written while starting (ROOT's own notices) follows the hello.
  capture.start([&host](const char* name, const std::string& text) { host.on_output(name, text); });
  std::thread([&host, sigint_fd] { host.control_loop(sigint_fd); }).detach();
  host.serve();
  return 0;
}
