// torchclad-train-gw: trains the 1D CNN signal classifier on gravitational-
// wave windows in a ROOT file (torchclad-gwsim writes one), with one or more
// gradient engines from the same seed, and writes per engine the detection
// metrics (accuracy, ROC AUC, efficiency against SNR at 1% false alarm) as
// ROOT objects and PNG plots, plus all engines in one JSON file. With
// --stream, the training tree is read in chunks on a background thread while
// the model trains (bounded memory, stream_training.hpp). Under mpirun it
// trains data-parallel (engine/dist/data_parallel.hpp): rank 0 prints and
// writes the outputs.
#include <TFile.h>
#include <TNamed.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli_args.hpp"
#include "trainer_options.hpp"
#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "dist/mpi_world.hpp"
#include "dist/row_shards.hpp"
#include "rank_log.hpp"
#include "data/binary_dataset.hpp"
#include "data/tree_dataset.hpp"
#include "metrics/detection.hpp"
#include "report/detection_report.hpp"
#include "save_model.hpp"
#include "stream_training.hpp"
#include "training_shard.hpp"
#include "train/binary_engines.hpp"
#include "train/binary_trainer.hpp"
#include "train/model_trainer.hpp"
#include "train/telemetry.hpp"

namespace {

using torchclad::cli::UsageError;

std::vector<std::string> split_list(const std::string& v) {
  std::vector<std::string> items;
  std::stringstream ss(v);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

// The simulator's parameters, when the file carries them (TNamed "gw_parameters", JSON title).
nlohmann::json simulation_parameters(const std::string& file) {
  std::unique_ptr<TFile> f(TFile::Open(file.c_str(), "READ"));
  auto* named = f ? dynamic_cast<TNamed*>(f->Get("gw_parameters")) : nullptr;
  if (!named) return nullptr;
  return nlohmann::json::parse(named->GetTitle(), nullptr, /*allow_exceptions=*/false);
}

nlohmann::json engine_json(const torchclad::train::BinaryTrainResult& r,
                           const torchclad::metrics::DetectionMetrics& m, double train_seconds) {
  nlohmann::json j;
  j["accuracy"] = m.accuracy;
  j["auc"] = m.auc;
  j["auc_snr_ge_8"] = m.auc_snr_ge_8;
  j["efficiency_snr10_far1pct"] = m.efficiency_snr10;
  j["signals_snr10"] = m.signals_snr10;
  j["false_alarm"] = m.false_alarm;
  j["threshold_logit"] = m.threshold;
  j["test_signals"] = m.signals;
  j["test_noise"] = m.noise;
  j["train_seconds"] = train_seconds;
  j["epochs"] = nlohmann::json::array();
  for (const auto& e : r.epochs)
    j["epochs"].push_back({{"epoch", e.epoch},
                           {"train_loss", e.train_loss},
                           {"test_loss", e.test_loss},
                           {"test_accuracy", e.test_accuracy},
                           {"test_auc", e.test_auc},
                           {"seconds", e.seconds},
                           {"samples_per_second", e.samples_per_second},
                           {"median_step_seconds", e.median_step_seconds}});
  j["efficiency_vs_snr"] = nlohmann::json::array();
  for (const auto& b : m.efficiency)
    if (b.signals > 0)
      j["efficiency_vs_snr"].push_back({{"snr_low", b.snr_low},
                                        {"snr_high", b.snr_high},
                                        {"signals", b.signals},
                                        {"detected", b.detected},
                                        {"efficiency", b.efficiency}});
  return j;
}

// --stream: the CNN trained on batches from the rank's stream, in the loop
// both trainers share (stream_training.hpp); the test split in memory,
// evaluated as train_binary evaluates it.
torchclad::train::BinaryTrainResult train_streaming(torchclad::cli::RankStream& stream,
                                                    const torchclad::data::BinarySplit& test,
                                                    const torchclad::train::BinaryTrainConfig& c,
                                                    const std::string& label_column, std::ostream& log) {
  using namespace torchclad;
  std::shared_ptr<train::BinaryEngine> engine =
      train::make_binary_engine(c.engine, c.model, c.optimizer, c.seed);
  const train::ModelData test_data{test.x, test.targets.to(torch::kFloat32).unsqueeze(1)};
  train::check_model_data(engine->definition(), test_data, "test");
  cli::StreamStep step;
  step.check_labels = [&](const float* y, const long long* entries, int n) {
    for (int i = 0; i < n; ++i)
      if (y[i] > 1)
        throw std::runtime_error("torchclad-train-gw --stream: label column '" + label_column + "' holds " +
                                 std::to_string(static_cast<long long>(y[i])) + " at entry " +
                                 std::to_string(entries[i]) +
                                 "; a binary classifier expects 0 (noise) or 1 (signal)");
  };
  step.step = [&](const float* x, const float* y, int n) { return engine->step(x, y, n); };
  const auto run = cli::train_on_stream(
      stream, train::run_spec(c.engine, engine->definition().name, c), {c.checkpoint, c.resume},
      engine->model(), engine->optimizer_access(), step,
      [&] { return train::evaluate_model(engine->model(), test_data); }, log);
  train::BinaryTrainResult result;
  result.epochs = run.epochs;
  result.engine = engine;
  if (!result.epochs.empty()) result.test_logits = train::predict_logits(*engine, test.x);
  result.non_finite = run.non_finite;
  result.stopped = run.stopped;
  result.stop_message = run.message;
  return result;
}

std::string now_utc() {
  char s[32];
  const std::time_t t = std::time(nullptr);
  std::strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace torchclad;
  dist::MpiSession mpi(&argc, &argv);
  cli::RankLog rank_out("torchclad-train-gw");
  train::BinaryTrainConfig config;
  config.epochs = 6;
  std::string data_file, train_tree = "train", test_tree = "test", out_dir = "gw-results", metrics_json;
  rootdata::BinaryColumns columns;
  std::vector<std::string> engines{"clad"};
  double false_alarm = 0.01;
  cli::StreamOptions stream;
  const std::string command = "torchclad-train-gw" + (argc > 1 ? " " + cli::command_line(argc, argv) : "");
  const cli::TrainerWording wording{"windows", 0.01,
                                    "(--stream: the order of chunks and shuffle-buffer draws)",
                                    " (--stream: the first N entries)", "one engine in --engines"};
  cli::Options options("usage: torchclad-train-gw --data FILE [options]");
  options
      .text("--data", "FILE", data_file,
            "ROOT file with trees \"train\" and \"test\" (torchclad-gwsim writes one)")
      .text("--train-tree", "NAME", train_tree, "default {default}")
      .text("--test-tree", "NAME", test_tree, "default {default}")
      .text("--strain-column", "NAME", columns.features,
            "default {default} (a fixed-length float array per entry)")
      .text("--label-column", "NAME", columns.label, "default {default} (1 signal, 0 noise)")
      .text("--snr-column", "NAME", columns.snr,
            "default {default} (optimal SNR of the injection, 0 for noise)");
  cli::add_stream_options(options, stream, "stream the training tree");
  options
      .text("--engines", "LIST",
            "comma-separated, from clad (model-level Clad gradient, default),\n"
            "clad-ops (op-level Clad nodes), autograd (LibTorch)",
            [&](const std::string& v) { engines = split_list(v); })
      .alias("--engine", "--engines");
  cli::add_optimizer_options(options, config, wording);
  cli::add_sample_options(options, config, wording);
  options
      .number("--false-alarm", false_alarm, "false-alarm probability for the efficiency, default {default}")
      .text("--out-dir", "DIR", out_dir,
            "per engine: ROOT files and PNG plots, and the trained model as\n"
            "<DIR>/<engine>/model.root (torchclad::Model::load reads it; default {default})")
      .text("--metrics-json", "PATH", metrics_json,
            "all engines' metrics as JSON (e.g. cling-plugin/bench/results/gw-metrics.json)");
  cli::add_checkpoint_options(options, config, wording);
  options.epilogue(cli::mpirun_note(wording) + cli::stream_mpirun_note());
  try {
    if (options.parse(argc, argv) == cli::Options::Parsed::kHelpShown) return 0;
    cli::apply_optimizer_defaults(options, config, wording);
    if (data_file.empty())
      throw UsageError("--data FILE is required (torchclad-gwsim --out FILE writes one)");
    if (engines.empty()) throw UsageError("--engines needs at least one engine");
    const auto& known = train::binary_engine_names();
    for (const auto& e : engines)
      if (std::find(known.begin(), known.end(), e) == known.end()) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        throw UsageError("unknown engine '" + e + "': expected one of " + list);
      }
    if (!(false_alarm > 0 && false_alarm < 1))
      throw UsageError("--false-alarm expects a probability in (0, 1), found " + cli::shown(false_alarm));
    if (!config.checkpoint.empty() && engines.size() != 1)
      throw UsageError("--checkpoint keeps one engine's run: give one engine with --engines");
  } catch (const UsageError& e) {
    rank_out.error(e.what());
    if (dist::is_root()) std::cerr << "\n" << options.usage();
    return mpi.fail(), 2;
  }

  std::ostream& log = rank_out.log();  // rank 0's stderr; other ranks print errors only
  const bool root = dist::is_root();
  try {
    dist::check_same_options(cli::command_line(argc, argv));
    data::BinarySplit train;
    std::unique_ptr<rootdata::ColumnStream> train_stream;
    std::unique_ptr<cli::RankStream> rank_stream;
    long long n = 0;
    int window = 0;
    if (stream.on) {
      train_stream = cli::open_training_stream(
          "torchclad-train-gw", data_file, train_tree, {{columns.features}, columns.label, {}, ""}, stream,
          config.seed, config.train_limit, /*bytes_as_unit=*/false, test_tree, log);
      n = train_stream->entries();
      window = train_stream->features();
      rank_stream =
          std::make_unique<cli::RankStream>(*train_stream, "torchclad-train-gw", rank_out, config.resume);
    } else {
      log << "reading trees " << train_tree << " and " << test_tree << " of " << data_file << "\n";
      const auto shard = cli::training_shard("torchclad-train-gw", data_file, train_tree, config.train_limit);
      n = shard.used;
      train = rootdata::read_binary_tree(data_file, train_tree, columns, shard.rows.begin, shard.rows.size());
      train.begin = shard.rows.begin;
      train.total = n;
      window = static_cast<int>(train.x.size(1));
      if (dist::distributed())  // every rank: what it read
        rank_out.say("read training entries [" + std::to_string(shard.rows.begin) + ", " +
                     std::to_string(shard.rows.end) + ") of " + std::to_string(n));
    }
    const auto test = rootdata::read_binary_tree(data_file, test_tree, columns);
    if (!test.snr.defined())
      throw std::runtime_error("the test tree needs an SNR column for the efficiency (--snr-column)");
    config.model.input_length = window;
    log << n << " training and " << test.x.size(0) << " test windows of " << window << " samples; "
        << train::cnn_model_name(config.model) << ", " << cli::run_summary(config, dist::world().size())
        << "\n";
    std::signal(SIGINT, [](int) { telemetry::request_stop(); });

    nlohmann::json out;
    out["workload"] = "cnn-gw";
    out["model"] = train::cnn_model_name(config.model);
    out["data"] = {
        {"file", data_file},
        {"train_windows", n},
        {"test_windows",
         config.test_limit > 0 ? std::min<int64_t>(config.test_limit, test.x.size(0)) : test.x.size(0)},
        {"simulation", simulation_parameters(data_file)}};
    out["training"] = {{"optimizer", config.optimizer.kind},
                       {"lr", config.optimizer.lr},
                       {"batch", config.batch},
                       {"epochs", config.epochs},
                       {"threads", config.threads},
                       {"seed", config.seed}};
    if (stream.on)
      out["training"]["stream"] = {{"chunk_entries", stream.chunk_entries},
                                   {"shuffle_buffer", stream.shuffle_buffer}};
    out["targets"] = {{"auc_snr_ge_8", 0.95},
                      {"efficiency_snr10_far1pct", 0.90},
                      {"clad_vs_autograd_accuracy_points", 1.0}};
    out["command"] = command;
    out["date"] = now_utc();
    out["engines"] = nlohmann::json::object();

    const auto test_used = config.test_limit > 0 && config.test_limit < test.x.size(0)
                               ? data::BinarySplit{test.x.narrow(0, 0, config.test_limit),
                                                   test.targets.narrow(0, 0, config.test_limit),
                                                   test.snr.narrow(0, 0, config.test_limit)}
                               : test;
    const std::vector<int> labels = data::binary_labels(test_used.targets);
    const auto snr = test_used.snr.contiguous();

    const auto signals = std::count(labels.begin(), labels.end(), 1);
    if (signals == 0 || signals == static_cast<long>(labels.size()))
      throw std::runtime_error("the test windows used (" + std::to_string(labels.size()) + ") hold " +
                               std::to_string(signals) +
                               " signals; the detection metrics need both signal and noise windows");
    int exit_code = 0;
    for (const auto& engine : engines) {
      config.engine = engine;
      log << "== engine " << engine << "\n";
      const auto t0 = std::chrono::steady_clock::now();
      const auto result = rank_stream ? train_streaming(*rank_stream, test_used, config, columns.label, log)
                                      : train::train_binary(train, test, config, log);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (result.non_finite || result.stopped) {
        exit_code = result.non_finite ? 3 : 130;
        break;
      }
      if (!root) continue;                                  // rank 0 writes the outputs
      const auto scores = result.test_logits.contiguous();  // the last epoch's evaluation
      const std::span<const float> s(scores.data_ptr<float>(), scores.numel());
      const auto m =
          metrics::detection_metrics(s, labels, {snr.data_ptr<float>(), size_t(snr.numel())}, false_alarm);
      const auto files = report::write_detection_report(m, s, labels, out_dir + "/" + engine + "/detection",
                                                        engine + ", " + train::cnn_model_name(config.model));
      std::cout << engine << ": " << report::summary_line(m) << "\n";
      const auto model_file = out_dir + "/" + engine + "/model.root";
      cli::save_cnn(model_file, config, result);
      log << "wrote " << model_file << ", " << files.root_file;
      for (const auto& p : files.pngs) log << ", " << p;
      log << "\n";
      out["engines"][engine] = engine_json(result, m, seconds);
    }
    if (out["engines"].contains("clad") && out["engines"].contains("autograd"))
      out["clad_vs_autograd_accuracy_points"] =
          100 * std::abs(out["engines"]["clad"]["accuracy"].get<double>() -
                         out["engines"]["autograd"]["accuracy"].get<double>());
    if (root && !metrics_json.empty()) {
      const auto dir = std::filesystem::path(metrics_json).parent_path();
      if (!dir.empty()) std::filesystem::create_directories(dir);
      std::ofstream f(metrics_json);
      if (!f) throw std::runtime_error("cannot write '" + metrics_json + "'");
      f << out.dump(2) << "\n";
      log << "wrote " << metrics_json << "\n";
    }
    if (exit_code) mpi.fail();
    return exit_code;
  } catch (const c10::Error& e) {
    rank_out.error(e.what_without_backtrace());
  } catch (const std::exception& e) {
    rank_out.error(e.what());
  }
  mpi.fail();
  return 1;
}
