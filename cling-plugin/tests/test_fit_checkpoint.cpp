// Checkpoints of fit (TrainOptions::checkpoint and resume, the commands'
// checkpoint file: engine/train/checkpoint.hpp), in one process: a fit of 3
// epochs equals a fit of 1 epoch resumed by a new model to 3, bit for bit
// (a model defined here and compiled with Clad, the built-in Mlp with its
// Clad engine and with LibTorch autograd, a StreamDataset); the checkpoint
// files of both runs are the same bytes; a checkpoint of another model or
// run is refused with both sides named; a missing file starts at epoch 1.
#include <TFile.h>
#include <TTree.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "scratch_dir.hpp"
#include "torchclad/model.h"
#include "torchclad/nn.h"
#include "torchclad/stream.h"
#include "torchclad/torchclad.h"

namespace nn = torchclad::nn;

// Six features, 24 tanh units, two classes.
struct CheckpointedClassifier : nn::Model {
  nn::Linear fc1{"fc1", 6, 24};
  nn::Act z1{24}, h1{24};
  nn::Linear fc2{"fc2", 24, 2};
  nn::Act logits{2};
  CheckpointedClassifier() {
    inputs(6);
    classes(2);
    output(logits);
  }
  template <class T>
  static T loss(const CheckpointedClassifier& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::tanh(a, m.z1, m.h1, n);
    nn::linear(m.fc2, p, a, m.h1, m.logits, n);
    return nn::cross_entropy(a, m.logits, y, n);
  }
};
TORCHCLAD_MODEL(checkpointed_classifier, CheckpointedClassifier)

// The same inputs and outputs, another definition (for the refusals).
struct OtherClassifier : nn::Model {
  nn::Linear fc1{"fc1", 6, 24};
  nn::Act z1{24}, h1{24};
  nn::Linear fc2{"fc2", 24, 2};
  nn::Act logits{2};
  OtherClassifier() {
    inputs(6);
    classes(2);
    output(logits);
  }
  template <class T>
  static T loss(const OtherClassifier& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::relu(a, m.z1, m.h1, n);
    nn::linear(m.fc2, p, a, m.h1, m.logits, n);
    return nn::cross_entropy(a, m.logits, y, n);
  }
};
TORCHCLAD_MODEL(other_classifier, OtherClassifier)

namespace {

namespace fs = std::filesystem;

using torchclad::testing::tmp;

// Two overlapping Gaussian classes in 6 features.
torchclad::Dataset gaussians(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0, 1);
  std::vector<float> x;
  std::vector<long long> labels;
  for (int i = 0; i < n; ++i) {
    const long long label = i % 2;
    for (int f = 0; f < 6; ++f) x.push_back(gauss(rng) + (label ? 0.6f : -0.6f) * (f % 3 == 0 ? 1 : 0.3f));
    labels.push_back(label);
  }
  return torchclad::classification_dataset(x, 6, labels);
}

torchclad::TrainOptions options(int epochs, const std::string& checkpoint, bool resume = false) {
  torchclad::TrainOptions o;
  o.epochs = epochs;
  o.batch = 16;
  o.optimizer = "adam";  // a state of step count and two buffers to restore
  o.lr = 1e-2;
  o.seed = 7;
  o.progress = false;
  o.checkpoint = checkpoint;
  o.resume = resume;
  return o;
}

// Every parameter, in order, as the bits the model holds.
std::vector<float> parameters(const torchclad::Model& m) {
  std::vector<float> all;
  for (const auto& name : m.parameter_names()) {
    const auto p = m.parameter(name);
    all.insert(all.end(), p.begin(), p.end());
  }
  return all;
}

std::string bytes_of(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// What fn throws (std::runtime_error), or "" if it does not throw.
template <class F>
std::string error_of(F&& fn) {
  try {
    fn();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// The resumed run's epochs are numbered after the checkpoint's.
void expect_epochs(const torchclad::TrainResult& r, std::vector<int> numbers) {
  ASSERT_EQ(r.status, "finished") << r.message;
  ASSERT_EQ(r.epochs.size(), numbers.size());
  for (size_t i = 0; i < numbers.size(); ++i) EXPECT_EQ(r.epochs[i].epoch, numbers[i]);
}

TEST(FitCheckpoint, ModelResumedEqualsUninterruptedBitForBit) {
  const auto train = gaussians(1001, 1), test = gaussians(300, 2);  // 1001: a partial last batch
  const std::string whole = tmp("model-whole.ckpt"), part = tmp("model-part.ckpt");
  auto uninterrupted = torchclad::model("checkpointed_classifier");
  expect_epochs(uninterrupted.fit(train, test, options(3, whole)), {1, 2, 3});
  ASSERT_TRUE(fs::exists(whole));
  EXPECT_FALSE(fs::exists(tmp(".model-whole.ckpt.partial")));

  auto first = torchclad::model("checkpointed_classifier");
  expect_epochs(first.fit(train, test, options(1, part)), {1});
  // A new model (fresh parameters) continues from the file.
  auto resumed = torchclad::model("checkpointed_classifier");
  const auto r = resumed.fit(train, test, options(3, part, true));
  expect_epochs(r, {2, 3});
  EXPECT_EQ(parameters(resumed), parameters(uninterrupted));
  EXPECT_NE(parameters(resumed), parameters(first));
  // Parameters, optimizer state, epoch, seed, batch: the same checkpoint bytes.
  EXPECT_EQ(bytes_of(part), bytes_of(whole));
  // The saved models hold the same parameters.
  resumed.save(tmp("resumed.root"));
  uninterrupted.save(tmp("whole.root"));
  EXPECT_EQ(parameters(torchclad::Model::load(tmp("resumed.root"))),
            parameters(torchclad::Model::load(tmp("whole.root"))));
}

TEST(FitCheckpoint, ResumeWithoutAFileYetStartsAtEpochOne) {
  const auto train = gaussians(400, 3), test = gaussians(100, 4);
  auto plain = torchclad::model("checkpointed_classifier");
  plain.fit(train, test, options(2, ""));
  auto fresh = torchclad::model("checkpointed_classifier");
  expect_epochs(fresh.fit(train, test, options(2, tmp("new.ckpt"), true)), {1, 2});
  EXPECT_EQ(parameters(fresh), parameters(plain));
  EXPECT_TRUE(fs::exists(tmp("new.ckpt")));
}

TEST(FitCheckpoint, MlpResumedEqualsUninterruptedBitForBit) {
  const auto train = gaussians(601, 5), test = gaussians(200, 6);
  for (const std::string engine : {"clad", "autograd"}) {
    SCOPED_TRACE(engine);
    const std::string whole = tmp("mlp-whole-" + engine + ".ckpt"),
                      part = tmp("mlp-part-" + engine + ".ckpt");
    auto o = [&](int epochs, const std::string& path, bool resume) {
      auto r = options(epochs, path, resume);
      r.engine = engine;
      return r;
    };
    torchclad::Mlp uninterrupted({6, 16, 2});
    expect_epochs(uninterrupted.fit(train, test, o(3, whole, false)), {1, 2, 3});
    torchclad::Mlp first({6, 16, 2});
    expect_epochs(first.fit(train, test, o(1, part, false)), {1});
    torchclad::Mlp resumed({6, 16, 2});
    expect_epochs(resumed.fit(train, test, o(3, part, true)), {2, 3});
    EXPECT_EQ(parameters(resumed.model()), parameters(uninterrupted.model()));
    EXPECT_EQ(bytes_of(part), bytes_of(whole));
  }
}

TEST(FitCheckpoint, ACheckpointOfAnotherModelOrRunIsRefused) {
  const auto train = gaussians(300, 7), test = gaussians(100, 8);
  const std::string path = tmp("refuse.ckpt");
  auto model = torchclad::model("checkpointed_classifier");
  model.fit(train, test, options(1, path));
  const std::string written = bytes_of(path);

  // Another definition: both names.
  auto other = torchclad::model("other_classifier");
  auto e = error_of([&] { other.fit(train, test, options(3, path, true)); });
  EXPECT_NE(e.find("holds model 'checkpointed_classifier'"), std::string::npos) << e;
  EXPECT_NE(e.find("this run trains 'other_classifier'"), std::string::npos) << e;
  EXPECT_EQ(other.history().size(), 0u);
  // An Mlp of other widths.
  torchclad::Mlp mlp({6, 8, 2});
  e = error_of([&] { mlp.fit(train, test, options(3, path, true)); });
  EXPECT_NE(e.find("holds model 'checkpointed_classifier', this run trains 'mlp-6-8-2'"), std::string::npos)
      << e;
  // The same model, another run: optimizer, seed, batch.
  auto again = torchclad::model("checkpointed_classifier");
  auto o = options(3, path, true);
  o.optimizer = "sgd";
  e = error_of([&] { again.fit(train, test, o); });
  EXPECT_NE(e.find("was written with optimizer adam, this run uses sgd"), std::string::npos) << e;
  o = options(3, path, true);
  o.seed = 8;
  e = error_of([&] { again.fit(train, test, o); });
  EXPECT_NE(e.find("was written with seed 7, this run has seed 8"), std::string::npos) << e;
  o = options(3, path, true);
  o.batch = 32;
  e = error_of([&] { again.fit(train, test, o); });
  EXPECT_NE(e.find("global batch of 16 (ranks x batch), this run's is 32"), std::string::npos) << e;
  // Nothing left to train.
  e = error_of([&] { again.fit(train, test, options(1, path, true)); });
  EXPECT_NE(e.find("is at epoch 1 and options.epochs is 1: nothing left to train (raise options.epochs)"),
            std::string::npos)
      << e;
  // resume needs a file.
  e = error_of([&] { again.fit(train, test, options(3, "", true)); });
  EXPECT_NE(e.find("Model::fit: options.resume needs options.checkpoint"), std::string::npos) << e;
  // No refusal wrote over the checkpoint.
  EXPECT_EQ(bytes_of(path), written);
  // Not a checkpoint at all.
  {
    std::ofstream(tmp("not-a.ckpt")) << "hello, world";
  }
  e = error_of([&] { again.fit(train, test, options(3, tmp("not-a.ckpt"), true)); });
  EXPECT_NE(e.find("is not a torchclad checkpoint"), std::string::npos) << e;
}

// Tree "events": a, b uniform in [-1, 1], label = (a + b > 0).
std::string write_events(const std::string& name, int n) {
  const std::string file = tmp(name);
  TFile f(file.c_str(), "RECREATE");
  TTree t("events", "events");
  Float_t a, b;
  Int_t label;
  t.Branch("a", &a, "a/F");
  t.Branch("b", &b, "b/F");
  t.Branch("label", &label, "label/I");
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int i = 0; i < n; ++i) {
    a = u(rng), b = u(rng), label = a + b > 0;
    t.Fill();
  }
  t.Write();
  f.Close();
  return file;
}

// Two features, 8 tanh units, two classes (the stream's rows).
struct StreamCheckpointed : nn::Model {
  nn::Linear fc1{"fc1", 2, 8};
  nn::Act z1{8}, t1{8};
  nn::Linear fc2{"fc2", 8, 2};
  nn::Act out{2};
  StreamCheckpointed() {
    inputs(2);
    classes(2);
    output(out);
  }
  template <class T>
  static T loss(const StreamCheckpointed& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::tanh(a, m.z1, m.t1, n);
    nn::linear(m.fc2, p, a, m.t1, m.out, n);
    return nn::cross_entropy(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(stream_checkpointed, StreamCheckpointed)

TEST(FitCheckpoint, StreamResumedEqualsUninterruptedBitForBit) {
  const std::string file = write_events("events.root", 2000);
  torchclad::StreamOptions so;
  so.chunk_entries = 300;
  so.shuffle_buffer = 500;
  const auto stream = [&] { return torchclad::StreamDataset({file}, "events", {"a", "b"}, "label", "", so); };
  std::vector<float> x;
  std::vector<long long> y;
  for (int i = 0; i < 200; ++i)
    x.push_back(i % 7 * 0.1f - 0.3f), x.push_back(i % 5 * 0.2f - 0.4f), y.push_back(i % 2);
  const auto test = torchclad::classification_dataset(x, 2, y);
  const std::string whole = tmp("stream-whole.ckpt"), part = tmp("stream-part.ckpt");
  auto uninterrupted = torchclad::model("stream_checkpointed");
  expect_epochs(uninterrupted.fit(stream(), test, options(3, whole)), {1, 2, 3});
  auto first = torchclad::model("stream_checkpointed");
  expect_epochs(first.fit(stream(), test, options(1, part)), {1});
  auto resumed = torchclad::model("stream_checkpointed");
  expect_epochs(resumed.fit(stream(), test, options(3, part, true)), {2, 3});
  EXPECT_EQ(parameters(resumed), parameters(uninterrupted));
  EXPECT_EQ(bytes_of(part), bytes_of(whole));
}

}  // namespace
