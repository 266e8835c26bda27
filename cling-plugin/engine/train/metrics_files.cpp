#include "train/metrics_files.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace torchclad::train {
namespace {

// CSV cells: numbers at full precision, nan/inf spelt out.
std::string csv_number(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
  return json_number(v);
}

std::string json_text(const MetricsFiles& f, const std::vector<EpochResult>& epochs,
                      const std::string& status) {
  std::ostringstream out;
  out << "{";
  for (const auto& [name, value] : f.header) out << "\n  " << json_string(name) << ": " << value << ",";
  out << "\n  \"non_finite\": " << (status == "failed" ? "true" : "false")
      << ",\n  \"status\": " << json_string(status) << ",\n  \"epochs\": [";
  for (size_t i = 0; i < epochs.size(); ++i) {
    const auto& m = epochs[i];
    out << (i ? ",\n    " : "\n    ") << "{\"epoch\": " << m.epoch << ", \"steps\": " << m.steps
        << ", \"train_loss\": " << json_number(m.train_loss)
        << ", \"test_loss\": " << json_number(m.test_loss)
        << ", \"test_accuracy\": " << json_number(m.test_accuracy)
        << ", \"seconds\": " << json_number(m.seconds)
        << ", \"steps_per_second\": " << json_number(m.steps_per_second)
        << ", \"samples_per_second\": " << json_number(m.samples_per_second)
        << ", \"median_step_seconds\": " << json_number(m.median_step_seconds)
        << ", \"test_auc\": " << json_number(m.test_auc) << ", \"test_rmse\": " << json_number(m.test_rmse)
        << "}";
  }
  out << (epochs.empty() ? "]\n}\n" : "\n  ]\n}\n");
  return out.str();
}

std::string csv_text(const MetricsFiles& f, const std::vector<EpochResult>& epochs) {
  std::ostringstream out;
  out << "engine,epoch,steps,train_loss,test_loss,test_accuracy,seconds,steps_per_second,samples_per_second,"
         "test_auc,test_rmse,median_step_seconds\n";
  for (const auto& m : epochs)
    out << f.engine << ',' << m.epoch << ',' << m.steps << ',' << csv_number(m.train_loss) << ','
        << csv_number(m.test_loss) << ',' << csv_number(m.test_accuracy) << ',' << csv_number(m.seconds)
        << ',' << csv_number(m.steps_per_second) << ',' << csv_number(m.samples_per_second) << ','
        << csv_number(m.test_auc) << ',' << csv_number(m.test_rmse) << ','
        << csv_number(m.median_step_seconds) << '\n';
  return out.str();
}

void write_file(const MetricsFiles& f, const std::string& setting, const std::string& path,
                const std::string& text) {
  namespace fs = std::filesystem;
  const std::string what = f.where + ": " + setting + ": cannot write '" + path + "'";
  const fs::path dir = fs::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty() && !fs::is_directory(dir, ec))
    throw std::runtime_error(what + ": the directory '" + dir.string() + "' does not exist");
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error(what + ": " + std::strerror(errno));
  out << text;
  out.close();
  if (!out) throw std::runtime_error(f.where + ": " + setting + ": could not finish writing '" + path + "'");
}

}  // namespace

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  std::ostringstream o;
  o.precision(std::numeric_limits<double>::max_digits10);
  o << v;
  return o.str();
}

void write_metrics(const MetricsFiles& files, const std::vector<EpochResult>& epochs,
                   const std::string& status) {
  if (!files.json.empty()) write_file(files, files.json_name, files.json, json_text(files, epochs, status));
  if (!files.csv.empty()) write_file(files, files.csv_name, files.csv, csv_text(files, epochs));
}

}  // namespace torchclad::train
