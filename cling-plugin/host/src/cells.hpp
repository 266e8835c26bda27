#pragma once
// Running cells in ROOT's cling, %%clad cells through ACLiC, and completion.
// Everything here runs on the cell thread (the main thread).
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace host {

class OutputCapture;

struct CellResult {
  std::string status = "ok";  // ok, error, aborted
  std::string ename, evalue;
  std::vector<std::string> traceback;
  std::string interrupt;  // "", "cooperative", "forced", "killed-compiler"
  int crash_signal = 0;   // the signal of a crash in the cell's code that was recovered from
  // The cell's value (its last expression without ';'): {"data": bundle,
  // "metadata": {...}}, or null. Sent as execute_result.
  nlohmann::json value;
  // Canvases the cell drew or updated: {"data", "metadata"} each, sent as display_data.
  std::vector<nlohmann::json> displays;
};

struct EngineInfo {
  bool loaded = false;
  std::string library, include_dir, error;
  bool clad_available = false;
  std::string clad_error;
};

// The largest cell the host runs. cling keeps the text of every cell for
// the life of the session and clang holds a few copies while it parses, so
// a huge cell costs memory for good; data belongs in files.
inline constexpr std::size_t kMaxCellBytes = 8u << 20;  // 8 MiB
inline constexpr const char* kCellLimitReason = "cling keeps every cell's text for the whole session";

class Cells {
 public:
  Cells(OutputCapture& capture, std::string workdir) : capture_(capture), workdir_(std::move(workdir)) {}

  // ROOT in batch mode with thread safety on (for the user-code tracker),
  // the engine's library and headers, ACLiC with Clad.
  EngineInfo start(const std::string& engine_library, const std::string& include_dir);

  // cell_id: the notebook's id of the cell (optional): an unnamed %%clad
  // cell builds the library clad_<cell_id>, replaced when the cell runs again.
  CellResult execute(const std::string& code, const std::string& cell_id = "");
  nlohmann::json complete(const std::string& code, long cursor_pos);

  // Set by the control thread when an interrupt arrives for the running cell.
  std::atomic<bool> interrupt_requested{false};
  std::atomic<bool> children_killed{false};

 private:
  CellResult run_cling(const std::string& code);
  CellResult run_clad(const std::string& header_line, const std::string& body, const std::string& cell_id);
  void remember_identifiers(const std::string& code);

  OutputCapture& capture_;
  std::string workdir_;
  int clad_cells_ = 0;
  EngineInfo engine_;
  std::set<std::string> identifiers_;  // seen in cells: completion fallback
  std::map<std::string, std::string>
      model_cell_sources_;  // %%clad model cell -> source of its loaded library
  std::map<std::string, std::vector<std::string>> cell_models_;  // %%clad model cell -> its models
};

}  // namespace host
