// torchclad-train: trains an MLP on an MNIST-format dataset with the chosen
// gradient engine, printing progress and per-epoch test accuracy, and writing
// metrics as JSON and CSV.
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include "cli_args.hpp"
#include "data/mnist.hpp"
#include "data/tree_dataset.hpp"
#include "train/engines.hpp"
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
  --train-limit N       train on the first N samples only
  --test-limit N        evaluate on the first N test samples only
  --metrics-json PATH   write per-epoch metrics as JSON
  --metrics-csv PATH    write per-epoch metrics as CSV
  --save FILE           save the trained model as a ROOT file (torchclad::Model::load reads it;
                        its definition is the Mlp's, e.g. mlp-784-256-128-10)
  --quiet               no progress bar
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

}  // namespace

int main(int argc, char** argv) {
  using namespace torchclad;
  train::TrainConfig config;
  std::string data_dir, metrics_json, metrics_csv, root_file, save_path;
  std::string train_tree = "train", test_tree = "test", image_column = "image", label_column = "label";
  bool lr_given = false;
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
      if (i + 1 >= argc) throw UsageError(flag + " expects a value");
      const std::string v = argv[++i];
      if (flag == "--dataset") config.dataset = v;
      else if (flag == "--data") data_dir = v;
      else if (flag == "--root-file") root_file = v;
      else if (flag == "--train-tree") train_tree = v;
      else if (flag == "--test-tree") test_tree = v;
      else if (flag == "--image-column") image_column = v;
      else if (flag == "--label-column") label_column = v;
      else if (flag == "--model") {
        if (v != "mlp") throw UsageError("unknown model '" + v + "': expected mlp");
      } else if (flag == "--widths") config.model.widths = to_widths(v);
      else if (flag == "--activation") config.model.activation = parse_activation(v);
      else if (flag == "--engine") config.engine = v;
      else if (flag == "--epochs") config.epochs = to_int(flag, v);
      else if (flag == "--batch") config.batch = to_int(flag, v);
      else if (flag == "--threads") config.threads = to_int(flag, v);
      else if (flag == "--optimizer") config.optimizer.kind = v;
      else if (flag == "--lr") config.optimizer.lr = to_double(flag, v), lr_given = true;
      else if (flag == "--momentum") config.optimizer.momentum = to_double(flag, v);
      else if (flag == "--seed") config.seed = to_int(flag, v);
      else if (flag == "--train-limit") config.train_limit = to_int(flag, v);
      else if (flag == "--test-limit") config.test_limit = to_int(flag, v);
      else if (flag == "--metrics-json") metrics_json = v;
      else if (flag == "--metrics-csv") metrics_csv = v;
      else if (flag == "--save") save_path = v;
      else throw UsageError("unknown option '" + flag + "'");
    }
    if (!lr_given && config.optimizer.kind == "sgd") config.optimizer.lr = 0.05;
    if (data_dir.empty() && root_file.empty()) {
      if (config.dataset != "fashion-mnist")
        throw UsageError("--dataset " + config.dataset + " needs --data DIR (only fashion-mnist has a default)");
      data_dir = data::default_fashion_mnist_dir();
    }
  } catch (const UsageError& e) {
    std::cerr << "torchclad-train: " << e.what() << "\n\n" << kUsage;
    return 2;
  } catch (const std::exception& e) {  // c10::Error from parse_activation
    std::cerr << "torchclad-train: " << e.what() << "\n";
    return 2;
  }

  try {
    data::MnistDataset data;
    if (!root_file.empty()) {
      std::cerr << "reading trees " << train_tree << " and " << test_tree << " of " << root_file << "\n";
      data.dir = root_file;
      data.train = rootdata::read_tree(root_file, train_tree, image_column, label_column);
      data.test = rootdata::read_tree(root_file, test_tree, image_column, label_column);
      data.rows = 1;
      data.cols = data.train.images.size(1);
    } else {
      std::cerr << "loading " << config.dataset << " from " << data_dir << "\n";
      data = data::load_mnist(data_dir);
    }
    std::cerr << "engine " << config.engine << ", mlp";
    for (auto w : config.model.widths) std::cerr << "-" << w;
    std::cerr << " (" << activation_name(config.model.activation) << "), " << config.optimizer.kind
              << " lr " << config.optimizer.lr << ", batch " << config.batch << ", threads "
              << config.threads << ", seed " << config.seed << "\n";
    // Ctrl-C ends the run between two steps; the metrics so far are written.
    std::signal(SIGINT, [](int) { telemetry::request_stop(); });
    const auto result = train::train_mlp(data, config, std::cerr);
    if (!metrics_json.empty()) train::write_metrics_json(metrics_json, config, result);
    if (!metrics_csv.empty()) train::write_metrics_csv(metrics_csv, config, result);
    if (result.non_finite) return 3;
    if (result.stopped) return 130;
    if (!save_path.empty()) {
      cli::save_mlp(save_path, config, result);
      std::cerr << "saved the model to " << save_path << "\n";
    }
    const auto& last = result.epochs.back();
    std::cout << "final test accuracy " << 100 * last.eval.test_accuracy << "% (" << config.engine << ")\n";
    return 0;
  } catch (const c10::Error& e) {
    std::cerr << "torchclad-train: " << e.what_without_backtrace() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "torchclad-train: " << e.what() << "\n";
  }
  return 1;
}
