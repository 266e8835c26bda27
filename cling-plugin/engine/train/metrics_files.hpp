#pragma once
// The per-epoch metrics files of a training run, one format for the commands
// (--metrics-json, --metrics-csv) and for Model::fit, Mlp::fit and Cnn::fit
// (TrainOptions::metrics_json, metrics_csv): a JSON object with the run's
// header, its status and one object per epoch; a CSV with one row per epoch.
#include <string>
#include <utility>
#include <vector>

#include "train/run_loop.hpp"

namespace torchclad::train {

struct MetricsFiles {
  std::string json, csv;  // paths; empty: none
  // How errors name the caller and the two settings.
  std::string where = "torchclad-train", json_name = "--metrics-json", csv_name = "--metrics-csv";
  std::string engine;  // the CSV's first column
  // The JSON's fields before "non_finite", "status" and "epochs": each a
  // name and its JSON value (json_string, json_number or other JSON text).
  std::vector<std::pair<std::string, std::string>> header;
};

// JSON values: a quoted, escaped string; a number at full precision (null
// for NaN and infinities).
std::string json_string(const std::string& s);
std::string json_number(double v);

// Writes the files (those whose path is set) with these epochs and the run's
// status: "running", "finished", "stopped" or "failed" (then "non_finite" is
// true). Throws std::runtime_error naming the caller, the setting and the
// path when a file cannot be written (e.g. its directory does not exist).
void write_metrics(const MetricsFiles& files, const std::vector<EpochResult>& epochs,
                   const std::string& status);

// The status of a finished run, as write_metrics takes it.
inline std::string run_status(bool non_finite, bool stopped) {
  return non_finite ? "failed" : stopped ? "stopped" : "finished";
}

}  // namespace torchclad::train
