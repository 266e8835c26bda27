// torchclad-train: trains an MLP on an MNIST-format dataset with the chosen
// gradient engine, printing progress and per-epoch test accuracy, and writing
// metrics as JSON and CSV. With --stream, the training tree of a ROOT file is
// read in chunks on a background thread while the model trains (bounded
// memory, data/stream_reader.hpp). Under mpirun it trains data-parallel
// (engine/dist/data_parallel.hpp): rank 0 prints and writes the outputs.
#include <algorithm>
#include <csignal>
#include <exception>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "cli_args.hpp"
#include "trainer_options.hpp"
#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "dist/mpi_world.hpp"
#include "dist/row_shards.hpp"
#include "rank_log.hpp"
#include "data/mnist.hpp"
#include "data/tree_dataset.hpp"
#include "train/engines.hpp"
#include "train/checkpoint.hpp"
#include "train/run_loop.hpp"
#include "train/telemetry.hpp"
#include "train/trainer.hpp"
#include "save_model.hpp"
#include "stream_training.hpp"
#include "training_shard.hpp"

namespace {

using torchclad::cli::to_int;
using torchclad::cli::UsageError;

std::vector<int64_t> to_widths(const std::string& v) {
  std::vector<int64_t> widths;
  std::stringstream ss(v);
  for (std::string item; std::getline(ss, item, ',');) widths.push_back(to_int("--widths", item));
  return widths;
}

// Test loss and accuracy, in chunks to bound memory.
std::pair<double, double> evaluate(torchclad::train::MlpEngine& engine,
                                   const torchclad::data::MnistSplit& test) {
  constexpr int64_t kChunk = 2000;
  double loss_sum = 0;
  int64_t correct = 0, n = test.images.size(0);
  for (int64_t start = 0; start < n; start += kChunk) {
    const int64_t len = std::min(kChunk, n - start);
    auto logits = engine.logits(test.images.narrow(0, start, len).contiguous());
    auto labels = test.labels.narrow(0, start, len);
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
    correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
  }
  return {loss_sum / n, static_cast<double>(correct) / n};
}

// --stream: the MLP trained on batches from the rank's stream, in the loop
// both trainers share (stream_training.hpp); the test split in memory.
torchclad::train::TrainResult train_streaming(torchclad::cli::RankStream& stream,
                                              const torchclad::data::MnistSplit& test,
                                              const torchclad::train::TrainConfig& c, std::ostream& log) {
  using namespace torchclad;
  TORCH_CHECK(c.batch >= 1, "batch must be at least 1, found ", c.batch);
  TORCH_CHECK(c.model.widths.size() >= 2, "the model needs at least input and output widths");
  TORCH_CHECK(c.model.widths.front() == stream.whole().features(), "the model's input width is ",
              c.model.widths.front(), " but the streamed images have ", stream.whole().features(), " values");
  const int64_t classes = c.model.widths.back();
  std::shared_ptr<train::MlpEngine> engine = train::make_engine(c.engine, c.model, c.optimizer, c.seed);
  // The engines read class labels as int32 and int64.
  std::vector<int32_t> y32(c.batch);
  std::vector<int64_t> y64(c.batch);
  cli::StreamStep step;
  step.check_labels = [&](const float* y, const long long* entries, int n) {
    for (int i = 0; i < n; ++i)
      TORCH_CHECK(static_cast<int64_t>(y[i]) < classes, "the model's output width is ", classes,
                  " but entry ", entries[i], " has label ", static_cast<int64_t>(y[i]));
  };
  step.step = [&](const float* x, const float* y, int n) {
    for (int i = 0; i < n; ++i) {
      y64[i] = static_cast<int64_t>(y[i]);
      y32[i] = static_cast<int32_t>(y[i]);
    }
    return engine->step(train::Batch{x, y32.data(), y64.data(), n});
  };
  // The in-memory run's name (train_mlp), in checkpoints and telemetry.
  const std::string model = engine->definition().name;
  const auto run = cli::train_on_stream(
      stream, train::run_spec(c.engine, model, c), {c.checkpoint, c.resume}, engine->model(),
      engine->optimizer_access(), step,
      [&] {
        train::Evaluation e;
        std::tie(e.test_loss, e.test_accuracy) = evaluate(*engine, test);
        return e;
      },
      log);
  train::TrainResult result;
  result.engine = engine;
  result.non_finite = run.non_finite;
  result.stopped = run.stopped;
  result.stop_message = run.message;
  result.epochs = run.epochs;  // EpochResult: the one epoch type
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace torchclad;
  dist::MpiSession mpi(&argc, &argv);
  cli::RankLog out("torchclad-train");
  train::TrainConfig config;
  std::string data_dir, metrics_json, metrics_csv, root_file, save_path;
  std::string train_tree = "train", test_tree = "test", image_column = "image", label_column = "label";
  cli::StreamOptions stream;
  const cli::TrainerWording wording{
      "samples", 0.05, "(--stream: the order of chunks and shuffle-buffer draws)",
      " (--stream: the first N entries)", "any engine; one format: another engine can resume it"};
  const std::string root_file_help =
      "read the data from a ROOT file instead (torchclad-idx2root writes one):\ntrees --train-tree (" +
      train_tree + ") and --test-tree (" + test_tree + "), columns\n--image-column (" + image_column +
      ") and --label-column (" + label_column + ")";
  cli::Options options("usage: torchclad-train [options]");
  options
      .text("--dataset", "NAME", config.dataset,
            "{default} (default: Debian's files) or any name with --data")
      .text("--data", "DIR", data_dir,
            "a directory with MNIST-format IDX files (train-images-idx3-ubyte[.gz], ...)")
      .text("--root-file", "FILE", root_file, root_file_help)
      .text("--train-tree", "NAME", train_tree, "")
      .text("--test-tree", "NAME", test_tree, "")
      .text("--image-column", "NAME", image_column, "")
      .text("--label-column", "NAME", label_column, "");
  cli::add_stream_options(options, stream, "with --root-file: stream the training tree");
  options
      .text("--model", "mlp", "the model family (only mlp for now)",
            [](const std::string& v) {
              if (v != "mlp") throw UsageError("unknown model '" + v + "': expected mlp");
            })
      .text("--widths", "LIST", "layer widths, default 784,256,128,10 (2 to 65 numbers: any depth)",
            [&](const std::string& v) { config.model.widths = to_widths(v); })
      .text("--activation", "NAME", "relu (default), tanh, sigmoid",
            [&](const std::string& v) {
              try {
                config.model.activation = parse_activation(v);
              } catch (const c10::Error& e) {
                throw UsageError(std::string("--activation: ") + e.what_without_backtrace());
              }
            })
      .text("--engine", "NAME", config.engine,
            "{default} (model-level Clad gradient, default), clad-model-node,\n"
            "clad-ops (op-level Clad nodes), autograd (LibTorch)");
  cli::add_optimizer_options(options, config, wording);
  options.number("--momentum", config.optimizer.momentum, "sgd momentum, default {default}");
  cli::add_sample_options(options, config, wording);
  options.text("--metrics-json", "PATH", metrics_json, "write per-epoch metrics as JSON")
      .text("--metrics-csv", "PATH", metrics_csv, "write per-epoch metrics as CSV")
      .text("--save", "FILE", save_path,
            "save the trained model as a ROOT file (torchclad::Model::load reads it;\n"
            "its definition is the Mlp's, e.g. mlp-784-256-128-10)");
  cli::add_checkpoint_options(options, config, wording);
  options.epilogue(cli::mpirun_note(wording) + cli::stream_mpirun_note());
  try {
    if (options.parse(argc, argv) == cli::Options::Parsed::kHelpShown) return 0;
    cli::apply_optimizer_defaults(options, config, wording);
    if (stream.on && root_file.empty())
      throw UsageError("--stream reads a ROOT file's training tree: it needs --root-file FILE");
    if (data_dir.empty() && root_file.empty()) {
      if (config.dataset != "fashion-mnist")
        throw UsageError("--dataset " + config.dataset +
                         " needs --data DIR (only fashion-mnist has a default)");
      data_dir = data::default_fashion_mnist_dir();
    }
  } catch (const UsageError& e) {
    out.error(e.what());
    if (dist::is_root()) std::cerr << "\n" << options.usage();
    return mpi.fail(), 2;
  }

  std::ostream& log = out.log();  // rank 0's stderr; other ranks print errors only
  try {
    dist::check_same_options(cli::command_line(argc, argv));
    data::MnistDataset data;
    std::unique_ptr<rootdata::ColumnStream> train_stream;
    std::unique_ptr<cli::RankStream> rank_stream;
    if (stream.on) {
      // Image bytes / 255, as the in-memory reader.
      train_stream = cli::open_training_stream("torchclad-train", root_file, train_tree,
                                               {{image_column}, label_column, {}, ""}, stream, config.seed,
                                               config.train_limit, /*bytes_as_unit=*/true, test_tree, log);
      rank_stream = std::make_unique<cli::RankStream>(*train_stream, "torchclad-train", out, config.resume);
      data.dir = root_file;
      data.test = rootdata::read_tree(root_file, test_tree, image_column, label_column);
      if (config.test_limit > 0 && config.test_limit < data.test.images.size(0))
        data.test = {data.test.images.narrow(0, 0, config.test_limit),
                     data.test.labels.narrow(0, 0, config.test_limit)};
    } else if (!root_file.empty()) {
      log << "reading trees " << train_tree << " and " << test_tree << " of " << root_file << "\n";
      data.dir = root_file;
      const auto shard = cli::training_shard("torchclad-train", root_file, train_tree, config.train_limit);
      data.train = rootdata::read_tree(root_file, train_tree, image_column, label_column, shard.rows.begin,
                                       shard.rows.size());
      data.train_begin = shard.rows.begin;
      data.train_total = shard.used;
      data.test = rootdata::read_tree(root_file, test_tree, image_column, label_column);
      data.rows = 1;
      data.cols = data.train.images.size(1);
    } else {
      log << "loading " << config.dataset << " from " << data_dir << "\n";
      data = data::load_mnist_shard(data_dir, config.train_limit, dist::world().rank(), dist::world().size());
    }
    if (dist::distributed() && !train_stream)  // every rank: what it read (its shard of the training entries)
      out.say("read training entries [" + std::to_string(data.train_begin) + ", " +
              std::to_string(data.train_begin + data.train.images.size(0)) + ") of " +
              std::to_string(data.train_total));
    log << "engine " << config.engine << ", mlp";
    for (auto w : config.model.widths) log << "-" << w;
    log << " (" << activation_name(config.model.activation) << "), "
        << cli::run_summary(config, dist::world().size()) << "\n";
    // Rewritten after every epoch (rank 0), and at the end with the run's status.
    config.metrics = train::command_metrics_files(config, metrics_json, metrics_csv);
    // Ctrl-C ends the run between two steps; the metrics so far are written.
    std::signal(SIGINT, [](int) { telemetry::request_stop(); });
    const auto result = rank_stream ? train_streaming(*rank_stream, data.test, config, log)
                                    : train::train_mlp(data, config, log);
    if (!dist::is_root()) {  // rank 0 writes the outputs
      const int code = result.non_finite ? 3 : result.stopped ? 130 : 0;
      if (code) mpi.fail();
      return code;
    }
    if (!metrics_json.empty()) train::write_metrics_json(metrics_json, config, result);
    if (!metrics_csv.empty()) train::write_metrics_csv(metrics_csv, config, result);
    if (result.non_finite) return mpi.fail(), 3;
    if (result.stopped) return mpi.fail(), 130;
    if (!save_path.empty()) {
      cli::save_mlp(save_path, config, result);
      log << "saved the model to " << save_path << "\n";
    }
    const auto& last = result.epochs.back();
    std::cout << "final test accuracy " << 100 * last.test_accuracy << "% (" << config.engine << ")\n";
    return 0;
  } catch (const c10::Error& e) {
    out.error(e.what_without_backtrace());
  } catch (const std::exception& e) {
    out.error(e.what());
  }
  mpi.fail();
  return 1;
}
