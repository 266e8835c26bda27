// torchclad-train: trains an MLP on an MNIST-format dataset with the chosen
// gradient engine, printing progress and per-epoch test accuracy, and writing
// metrics as JSON and CSV. With --stream, the training tree of a ROOT file is
// read in chunks on a background thread while the model trains (bounded
// memory, data/stream_reader.hpp). Under mpirun it trains data-parallel
// (engine/dist/data_parallel.hpp): rank 0 prints and writes the outputs.
#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "cli_args.hpp"
#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "dist/mpi_world.hpp"
#include "dist/row_shards.hpp"
#include "rank_log.hpp"
#include "data/mnist.hpp"
#include "data/stream_reader.hpp"
#include "data/tree_dataset.hpp"
#include "train/engines.hpp"
#include "train/run_loop.hpp"
#include "train/telemetry.hpp"
#include "train/trainer.hpp"
#include "save_model.hpp"

namespace {

const char* kUsage = R"(usage: torchclad-train [options]

  --dataset NAME        fashion-mnist (default: Debian's files) or any name with --data
  --data DIR            a directory with MNIST-format IDX files (train-images-idx3-ubyte[.gz], ...)
  --root-file FILE      read the data from a ROOT file instead (torchclad-idx2root writes one):
                        trees --train-tree (train) and --test-tree (test), columns
                        --image-column (image) and --label-column (label)
  --stream              with --root-file: stream the training tree in chunks of entries
                        read on a background thread while the model trains (memory:
                        a few chunks and the shuffle buffer, whatever the tree's size);
                        the test tree is read into memory
  --chunk-entries N     --stream: entries per chunk, default 65536
  --shuffle-buffer N    --stream: rows drawn at random from, default 65536 (0: chunk order)
  --model mlp           the model family (only mlp for now)
  --widths LIST         layer widths, default 784,256,128,10 (2 to 65 numbers: any depth)
  --activation NAME     relu (default), tanh, sigmoid
  --engine NAME         clad (model-level Clad gradient, default), clad-model-node,
                        clad-ops (op-level Clad nodes), autograd (LibTorch)
  --epochs N            default 5
  --batch N             default 64
  --threads N           intra-op threads, default 1
  --optimizer NAME      adam (default) or sgd (momentum 0.9)
  --lr X                learning rate, default 1e-3 (adam) / 0.05 (sgd)
  --momentum X          sgd momentum, default 0.9
  --seed N              default 42: same seed, same initial weights and batch order for every engine
                        (--stream: the order of chunks and shuffle-buffer draws)
  --train-limit N       train on the first N samples only (--stream: the first N entries)
  --test-limit N        evaluate on the first N test samples only
  --metrics-json PATH   write per-epoch metrics as JSON
  --metrics-csv PATH    write per-epoch metrics as CSV
  --save FILE           save the trained model as a ROOT file (torchclad::Model::load reads it;
                        its definition is the Mlp's, e.g. mlp-784-256-128-10)
  --checkpoint FILE     write the parameters, optimizer state and epoch to FILE after every
                        epoch (any engine; one format: another engine can resume it)
  --resume              continue from --checkpoint FILE (when it exists) at the next epoch;
                        the result equals an uninterrupted run's
  --quiet               no progress bar

Under mpirun -np N each rank reads only its shard of the training entries
(rank r: [r n/N, (r+1) n/N) of the n used) and trains on its share of each
global batch of N x --batch samples of the epoch's shuffle, the ranks
exchanging the rows each share needs once per epoch (one gradient allreduce
per step; the learning rate is the one for that global batch; the result is
one process's with --batch N x B); rank 0 prints and writes the outputs.
--stream runs in one process only.
)";

using torchclad::cli::to_double;
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

// --stream: the MLP trained on batches from the stream, through the shared
// epoch loop's source steps; the test split in memory.
torchclad::train::TrainResult train_streaming(torchclad::rootdata::ColumnStream& stream,
                                              const torchclad::data::MnistSplit& test,
                                              const torchclad::train::TrainConfig& c, std::ostream& log) {
  using namespace torchclad;
  TORCH_CHECK(c.epochs >= 1, "epochs must be at least 1, found ", c.epochs);
  TORCH_CHECK(c.batch >= 1, "batch must be at least 1, found ", c.batch);
  TORCH_CHECK(c.threads >= 1, "threads must be at least 1, found ", c.threads);
  TORCH_CHECK(c.model.widths.size() >= 2, "the model needs at least input and output widths");
  TORCH_CHECK(c.model.widths.front() == stream.features(), "the model's input width is ",
              c.model.widths.front(), " but the streamed images have ", stream.features(), " values");
  const int64_t classes = c.model.widths.back();
  at::set_num_threads(c.threads);
  std::shared_ptr<train::MlpEngine> engine = train::make_engine(c.engine, c.model, c.optimizer, c.seed);
  std::vector<float> x(static_cast<size_t>(c.batch) * stream.features()), y(c.batch);
  std::vector<int32_t> y32(c.batch);
  std::vector<int64_t> y64(c.batch);
  std::vector<long long> entries(c.batch);
  train::SourceSteps steps;
  steps.begin_epoch = [&](int epoch) { stream.begin_epoch(epoch); };
  steps.next = [&](int& size) {
    size = stream.next(c.batch, x.data(), y.data(), nullptr, entries.data());
    for (int i = 0; i < size; ++i) {
      y64[i] = static_cast<int64_t>(y[i]);
      y32[i] = static_cast<int32_t>(y[i]);
      TORCH_CHECK(y64[i] < classes, "the model's output width is ", classes, " but entry ", entries[i],
                  " has label ", y64[i]);
    }
    return size ? engine->step(train::Batch{x.data(), y32.data(), y64.data(), size}) : 0.0f;
  };
  train::RunSpec spec;
  spec.engine = c.engine;
  spec.model = "mlp";
  for (auto w : c.model.widths) spec.model += "-" + std::to_string(w);
  spec.optimizer = c.optimizer.kind;
  spec.lr = c.optimizer.lr;
  spec.epochs = c.epochs;
  spec.batch = c.batch;
  spec.threads = c.threads;
  spec.samples = stream.entries();
  spec.seed = c.seed;
  spec.progress = c.progress;
  const auto run = train::run_epochs(
      spec, steps,
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
  result.epochs = run.epochs;  // EpochStats: the one epoch type
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
  bool lr_given = false, stream = false;
  long long chunk_entries = 65536, shuffle_buffer = 65536;
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
      if (flag == "--stream") {
        stream = true;
        continue;
      }
      if (flag == "--resume") {
        config.resume = true;
        continue;
      }
      if (i + 1 >= argc) throw UsageError(flag + " expects a value");
      const std::string v = argv[++i];
      if (flag == "--dataset")
        config.dataset = v;
      else if (flag == "--data")
        data_dir = v;
      else if (flag == "--root-file")
        root_file = v;
      else if (flag == "--train-tree")
        train_tree = v;
      else if (flag == "--test-tree")
        test_tree = v;
      else if (flag == "--image-column")
        image_column = v;
      else if (flag == "--label-column")
        label_column = v;
      else if (flag == "--model") {
        if (v != "mlp") throw UsageError("unknown model '" + v + "': expected mlp");
      } else if (flag == "--widths")
        config.model.widths = to_widths(v);
      else if (flag == "--activation")
        config.model.activation = parse_activation(v);
      else if (flag == "--engine")
        config.engine = v;
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
      else if (flag == "--momentum")
        config.optimizer.momentum = to_double(flag, v);
      else if (flag == "--seed")
        config.seed = to_int(flag, v);
      else if (flag == "--train-limit")
        config.train_limit = to_int(flag, v);
      else if (flag == "--test-limit")
        config.test_limit = to_int(flag, v);
      else if (flag == "--chunk-entries")
        chunk_entries = to_int(flag, v);
      else if (flag == "--shuffle-buffer")
        shuffle_buffer = to_int(flag, v);
      else if (flag == "--metrics-json")
        metrics_json = v;
      else if (flag == "--metrics-csv")
        metrics_csv = v;
      else if (flag == "--save")
        save_path = v;
      else if (flag == "--checkpoint")
        config.checkpoint = v;
      else
        throw UsageError("unknown option '" + flag + "'");
    }
    if (!lr_given && config.optimizer.kind == "sgd") config.optimizer.lr = 0.05;
    if (stream && root_file.empty())
      throw UsageError("--stream reads a ROOT file's training tree: it needs --root-file FILE");
    if (data_dir.empty() && root_file.empty()) {
      if (config.dataset != "fashion-mnist")
        throw UsageError("--dataset " + config.dataset +
                         " needs --data DIR (only fashion-mnist has a default)");
      data_dir = data::default_fashion_mnist_dir();
    }
  } catch (const UsageError& e) {
    out.error(e.what());
    if (dist::is_root()) std::cerr << "\n" << kUsage;
    return mpi.fail(), 2;
  } catch (const std::exception& e) {  // c10::Error from parse_activation
    out.error(e.what());
    return mpi.fail(), 2;
  }

  std::ostream& log = out.log();  // rank 0's stderr; other ranks print errors only
  try {
    dist::check_same_options(cli::command_line(argc, argv));
    data::MnistDataset data;
    std::unique_ptr<rootdata::ColumnStream> train_stream;
    if (stream) {
      rootdata::StreamSpec spec;
      spec.files = {root_file};
      spec.tree = train_tree;
      spec.columns = {{image_column}, label_column, {}, ""};
      spec.chunk_entries = chunk_entries;
      spec.shuffle_buffer = shuffle_buffer;
      spec.seed = config.seed;
      spec.max_entries = config.train_limit > 0 ? config.train_limit : -1;
      spec.bytes_as_unit = true;  // image bytes / 255, as the in-memory reader
      train_stream = std::make_unique<rootdata::ColumnStream>(spec, "torchclad-train --stream");
      log << "streaming tree " << train_tree << " of " << root_file << " (" << train_stream->entries()
          << " entries, chunks of " << chunk_entries << ", shuffle buffer " << shuffle_buffer
          << "); reading tree " << test_tree << "\n";
      data.dir = root_file;
      data.test = rootdata::read_tree(root_file, test_tree, image_column, label_column);
      if (config.test_limit > 0 && config.test_limit < data.test.images.size(0))
        data.test = {data.test.images.narrow(0, 0, config.test_limit),
                     data.test.labels.narrow(0, 0, config.test_limit)};
    } else if (!root_file.empty()) {
      log << "reading trees " << train_tree << " and " << test_tree << " of " << root_file << "\n";
      data.dir = root_file;
      // Each rank reads its shard of the first --train-limit entries only.
      const long long entries = rootdata::tree_entry_count("torchclad-train", root_file, train_tree);
      const auto n = config.train_limit > 0 ? std::min<long long>(config.train_limit, entries) : entries;
      if (n < dist::world().size())
        throw std::runtime_error(
            std::to_string(dist::world().size()) + " ranks but only " + std::to_string(n) +
            " training samples: some rank would have no data; run at most " + std::to_string(n) + " ranks");
      const auto shard = dist::shard_of(n, dist::world().rank(), dist::world().size());
      data.train =
          rootdata::read_tree(root_file, train_tree, image_column, label_column, shard.begin, shard.size());
      data.train_begin = shard.begin;
      data.train_total = n;
      data.test = rootdata::read_tree(root_file, test_tree, image_column, label_column);
      data.rows = 1;
      data.cols = data.train.images.size(1);
    } else {
      log << "loading " << config.dataset << " from " << data_dir << "\n";
      data = data::load_mnist_shard(data_dir, config.train_limit, dist::world().rank(), dist::world().size());
    }
    if (dist::distributed())  // every rank: what it read (its shard of the training entries)
      out.say("read training entries [" + std::to_string(data.train_begin) + ", " +
              std::to_string(data.train_begin + data.train.images.size(0)) + ") of " +
              std::to_string(data.train_total));
    log << "engine " << config.engine << ", mlp";
    for (auto w : config.model.widths) log << "-" << w;
    log << " (" << activation_name(config.model.activation) << "), " << config.optimizer.kind << " lr "
        << config.optimizer.lr << ", batch " << config.batch << ", threads " << config.threads << ", seed "
        << config.seed;
    if (dist::distributed())
      log << "; " << dist::world().size() << " ranks, global batch " << config.batch * dist::world().size();
    log << "\n";
    // Ctrl-C ends the run between two steps; the metrics so far are written.
    std::signal(SIGINT, [](int) { telemetry::request_stop(); });
    const auto result = train_stream ? train_streaming(*train_stream, data.test, config, log)
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
    std::cout << "final test accuracy " << 100 * last.eval.test_accuracy << "% (" << config.engine << ")\n";
    return 0;
  } catch (const c10::Error& e) {
    out.error(e.what_without_backtrace());
  } catch (const std::exception& e) {
    out.error(e.what());
  }
  mpi.fail();
  return 1;
}
