// A model definition (torchclad/nn.h): an MLP 784-128-64-10 with a GELU
// written here, in plain C++. torchclad::load_models("gelu_mlp_model.cpp")
// compiles it with clang++-19 and Clad, which writes the backward pass, and
// loads it: TORCHCLAD_MODEL registers it as "gelu_mlp" (train_user_model.C).
#include "torchclad/nn.h"

namespace nn = torchclad::nn;

// GELU, tanh approximation (torch.nn.GELU(approximate="tanh")).
template <class T>
T gelu(T v) {
  return T(0.5) * v * (T(1) + std::tanh(T(0.7978845608028654) * (v + T(0.044715) * v * v * v)));
}
TORCHCLAD_ACTIVATION(gelu)  // the block apply_gelu(a, x, y, n)

struct GeluMlp : nn::Model {
  nn::Linear fc1{"fc1", 784, 128};
  nn::Act z1{128}, g1{128};
  nn::Linear fc2{"fc2", 128, 64};
  nn::Act z2{64}, g2{64};
  nn::Linear fc3{"fc3", 64, 10};
  nn::Act logits{10};
  GeluMlp() {
    inputs(784);
    classes(10);
    output(logits);
  }
  template <class T>
  static T loss(const GeluMlp& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::linear(m.fc1, p, x, a, m.z1, n);
    apply_gelu(a, m.z1, m.g1, n);
    nn::linear(m.fc2, p, a, m.g1, m.z2, n);
    apply_gelu(a, m.z2, m.g2, n);
    nn::linear(m.fc3, p, a, m.g2, m.logits, n);
    return nn::cross_entropy(a, m.logits, y, n);
  }
};
TORCHCLAD_MODEL(gelu_mlp, GeluMlp)
