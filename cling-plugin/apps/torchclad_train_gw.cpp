// torchclad-train-gw: trains the 1D CNN signal classifier on gravitational-
// wave windows in a ROOT file (torchclad-gwsim writes one), with one or more
// gradient engines from the same seed, and writes per engine the detection
// metrics (accuracy, ROC AUC, efficiency against SNR at 1% false alarm) as
// ROOT objects and PNG plots, plus all engines in one JSON file. Under mpirun
// it trains data-parallel (engine/dist/data_parallel.hpp): rank 0 prints and
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
#include "train/binary_engines.hpp"
#include "train/binary_trainer.hpp"
#include "train/telemetry.hpp"

namespace {

const char* kUsage = R"(usage: torchclad-train-gw --data FILE [options]

  --data FILE           ROOT file with trees "train" and "test" (torchclad-gwsim writes one)
  --train-tree NAME     default train
  --test-tree NAME      default test
  --strain-column NAME  default strain (a fixed-length float array per entry)
  --label-column NAME   default label (1 signal, 0 noise)
  --snr-column NAME     default snr (optimal SNR of the injection, 0 for noise)
  --engines LIST        comma-separated, from clad (model-level Clad gradient, default),
                        clad-ops (op-level Clad nodes), autograd (LibTorch)
  --epochs N            default 6
  --batch N             default 64
  --threads N           intra-op threads, default 1
  --optimizer NAME      adam (default) or sgd (momentum 0.9)
  --lr X                learning rate, default 1e-3 (adam) / 0.01 (sgd)
  --seed N              default 42: same initial weights and batch order for every engine
  --train-limit N       train on the first N windows only
  --test-limit N        evaluate on the first N test windows only
  --false-alarm X       false-alarm probability for the efficiency, default 0.01
  --out-dir DIR         per engine: ROOT files and PNG plots, and the trained model as
                        <DIR>/<engine>/model.root (torchclad::Model::load reads it; default gw-results)
  --metrics-json PATH   all engines' metrics as JSON (e.g. cling-plugin/bench/results/gw-metrics.json)
  --checkpoint FILE     write the parameters, optimizer state and epoch to FILE after every
                        epoch (one engine in --engines)
  --resume              continue from --checkpoint FILE (when it exists) at the next epoch;
                        the result equals an uninterrupted run's
  --quiet               no progress bar

Under mpirun -np N each rank reads only its shard of the training entries
(rank r: [r n/N, (r+1) n/N) of the n used) and trains on its share of each
global batch of N x --batch windows of the epoch's shuffle, the ranks
exchanging the rows each share needs once per epoch (one gradient allreduce
per step; the learning rate is the one for that global batch; the result is
one process's with --batch N x B); rank 0 prints and writes the outputs.
)";

using torchclad::cli::to_double;
using torchclad::cli::to_int;
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
                           {"test_loss", e.eval.test_loss},
                           {"test_accuracy", e.eval.test_accuracy},
                           {"test_auc", e.eval.test_auc},
                           {"seconds", e.seconds},
                           {"samples_per_second", e.samples_per_second}});
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
  bool lr_given = false;
  std::string command = "torchclad-train-gw";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string flag = argv[i];
      if (flag == "--help" || flag == "-h") {
        std::cout << kUsage;
        return 0;
      }
      if (flag == "--quiet") {
        config.progress = false;
        continue;
      }
      if (flag == "--resume") {
        config.resume = true;
        continue;
      }
      if (i + 1 >= argc) throw UsageError(flag + " expects a value");
      const std::string v = argv[++i];
      if (flag == "--data")
        data_file = v;
      else if (flag == "--train-tree")
        train_tree = v;
      else if (flag == "--test-tree")
        test_tree = v;
      else if (flag == "--strain-column")
        columns.features = v;
      else if (flag == "--label-column")
        columns.label = v;
      else if (flag == "--snr-column")
        columns.snr = v;
      else if (flag == "--engines" || flag == "--engine")
        engines = split_list(v);
      else if (flag == "--epochs")
        config.epochs = to_int(flag, v);
      else if (flag == "--batch")
        config.batch = to_int(flag, v);
      else if (flag == "--threads")
        config.threads = to_int(flag, v);
      else if (flag == "--optimizer")
        config.optimizer.kind = v;
      else if (flag == "--lr")
        config.optimizer.lr = to_double(flag, v), lr_given = true;
      else if (flag == "--seed")
        config.seed = to_int(flag, v);
      else if (flag == "--train-limit")
        config.train_limit = to_int(flag, v);
      else if (flag == "--test-limit")
        config.test_limit = to_int(flag, v);
      else if (flag == "--false-alarm")
        false_alarm = to_double(flag, v);
      else if (flag == "--out-dir")
        out_dir = v;
      else if (flag == "--metrics-json")
        metrics_json = v;
      else if (flag == "--checkpoint")
        config.checkpoint = v;
      else
        throw UsageError("unknown option '" + flag + "'");
    }
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
      throw UsageError("--false-alarm expects a probability in (0, 1), found " + std::to_string(false_alarm));
    if (!lr_given && config.optimizer.kind == "sgd") config.optimizer.lr = 0.01;
    if (!config.checkpoint.empty() && engines.size() != 1)
      throw UsageError("--checkpoint keeps one engine's run: give one engine with --engines");
  } catch (const UsageError& e) {
    rank_out.error(e.what());
    if (dist::is_root()) std::cerr << "\n" << kUsage;
    return mpi.fail(), 2;
  }

  std::ostream& log = rank_out.log();  // rank 0's stderr; other ranks print errors only
  const bool root = dist::is_root();
  try {
    dist::check_same_options(cli::command_line(argc, argv));
    log << "reading trees " << train_tree << " and " << test_tree << " of " << data_file << "\n";
    // Each rank reads its shard of the first --train-limit training entries only.
    const long long entries = rootdata::tree_entry_count("torchclad-train-gw", data_file, train_tree);
    const auto n = config.train_limit > 0 ? std::min<long long>(config.train_limit, entries) : entries;
    if (n < dist::world().size())
      throw std::runtime_error(std::to_string(dist::world().size()) + " ranks but only " + std::to_string(n) +
                               " training samples: some rank would have no data; run at most " +
                               std::to_string(n) + " ranks");
    const auto shard = dist::shard_of(n, dist::world().rank(), dist::world().size());
    auto train = rootdata::read_binary_tree(data_file, train_tree, columns, shard.begin, shard.size());
    train.begin = shard.begin;
    train.total = n;
    if (dist::distributed())  // every rank: what it read
      rank_out.say("read training entries [" + std::to_string(shard.begin) + ", " +
                   std::to_string(shard.end) + ") of " + std::to_string(n));
    const auto test = rootdata::read_binary_tree(data_file, test_tree, columns);
    if (!test.snr.defined())
      throw std::runtime_error("the test tree needs an SNR column for the efficiency (--snr-column)");
    config.model.input_length = static_cast<int>(train.x.size(1));
    log << n << " training and " << test.x.size(0) << " test windows of " << train.x.size(1) << " samples; "
        << train::cnn_model_name(config.model) << ", " << config.optimizer.kind << " lr "
        << config.optimizer.lr << ", batch " << config.batch << ", threads " << config.threads << ", seed "
        << config.seed;
    if (dist::distributed())
      log << "; " << dist::world().size() << " ranks, global batch " << config.batch * dist::world().size();
    log << "\n";
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
      const auto result = train::train_binary(train, test, config, log);
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
