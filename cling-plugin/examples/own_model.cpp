// A program of your own that defines a model and trains it with Clad's
// gradient: a regression of a noisy function with a Huber loss written here,
// data made in memory, the model saved to a ROOT file and loaded back.
// Compiled with clang++-19 and the Clad plugin (CMake: torchclad_use_clad),
// linked with libtorchclad_root:
//   build/cling-plugin/examples/torchclad-own-model [epochs] [out.root]
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "torchclad/model.h"
#include "torchclad/nn.h"

namespace nn = torchclad::nn;

// Huber loss with delta 1: quadratic near the target, linear beyond.
template <class T>
T huber(T prediction, T target) {
  const T r = prediction - target;
  return std::abs(r) <= T(1) ? T(0.5) * r * r : std::abs(r) - T(0.5);
}
TORCHCLAD_LOSS(huber)  // the block mean_huber(a, prediction, y, n)

// y = f(x1, x2) with two tanh layers.
struct Regressor : nn::Model {
  nn::Linear fc1{"fc1", 2, 32};
  nn::Act z1{32}, t1{32};
  nn::Linear fc2{"fc2", 32, 32};
  nn::Act z2{32}, t2{32};
  nn::Linear fc3{"fc3", 32, 1};
  nn::Act out{1};
  Regressor() {
    inputs(2);
    regression(1);
    output(out);
  }
  template <class T>
  static T loss(const Regressor& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    nn::tanh(a, m.z1, m.t1, n);
    nn::linear(m.fc2, p, a, m.t1, m.z2, n);
    nn::tanh(a, m.z2, m.t2, n);
    nn::linear(m.fc3, p, a, m.t2, m.out, n);
    return mean_huber(a, m.out, y, n);
  }
};
TORCHCLAD_MODEL(regressor, Regressor)

// Samples of y = sin(3 x1) cos(2 x2) + noise, every 50th shifted by 3: the
// outliers the Huber loss is for (they alone keep the RMSE above 0.42).
torchclad::Dataset make_data(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::normal_distribution<float> noise(0, 0.05f);
  std::vector<float> x, y;
  for (int i = 0; i < n; ++i) {
    const float a = u(rng), b = u(rng);
    x.push_back(a);
    x.push_back(b);
    y.push_back(std::sin(3 * a) * std::cos(2 * b) + noise(rng) + (i % 50 == 0 ? 3.f : 0.f));
  }
  return torchclad::regression_dataset(x, 2, y, 1);
}

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::stoi(argv[1]) : 20;
  const std::string out = argc > 2 ? argv[2] : "regressor.root";
  try {
    const auto train = make_data(4000, 1), test = make_data(1000, 2);
    auto model = torchclad::model("regressor");
    std::printf("%s", model.describe().c_str());
    if (!model.check_gradients(train).passed) return 1;
    const double before = model.evaluate(test).rmse;
    torchclad::TrainOptions options;
    options.epochs = epochs;
    options.batch = 32;
    options.lr = 3e-3;
    const auto result = model.fit(train, test, options);
    const double after = model.evaluate(test).rmse;
    model.save(out);
    const double reloaded = torchclad::Model::load(out).evaluate(test).rmse;
    std::printf("regressor: %s, test RMSE %.4f -> %.4f (reloaded from %s: %.4f)\n", result.status.c_str(),
                before, after, out.c_str(), reloaded);
    return result.status == "finished" && after < 0.8 * before && reloaded == after ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
