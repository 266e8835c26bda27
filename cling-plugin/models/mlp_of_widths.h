// torchclad's built-in Mlp(widths, activation) as a model definition
// (torchclad/nn.h) configured at run time: Linear layers of any widths
// (input, hidden..., classes) with one activation between them, chosen
// among identity/relu/tanh/sigmoid, and softmax cross-entropy. The layers
// are a loop over fixed-capacity arrays of handles, so the struct stays
// trivially copyable and Clad's reverse loop allocates nothing.
//
// Parameters are declared fc1.weight, fc1.bias, fc2.weight, ... with
// torch.nn.Linear's initialisation: from a seed, the same values as
// torch.nn.Sequential(Linear, act, Linear, ...) and the comparison engines.
// Made by name ("mlp-784-256-10", "mlp-784-64-10-tanh") in
// models/builtin_definitions.cpp.
#ifndef TORCHCLAD_MODELS_MLP_OF_WIDTHS_H
#define TORCHCLAD_MODELS_MLP_OF_WIDTHS_H
#include <stdexcept>
#include <string>
#include <vector>

#include "torchclad/nn.h"

namespace torchclad::models {

// y = act(x) elementwise, with the activation chosen at run time
// (kernels::Activation). One block with its own pullback: a branch on the
// kind inside the layer loop would put a record per layer on Clad's tape.
template <typename T>
void activate(int kind, T* a, ::torchclad::nn::Act x, ::torchclad::nn::Act y, int n) {
  if (::torchclad::nn::detail::replaying()) return;
  ::torchclad::nn::detail::same_width<T>(x, y);
  ::torchclad::nn::detail::writes(y, y.id);
  ::torchclad::kernels::activation_forward(kind, a + long{n} * x.off, a + long{n} * y.off, n * x.width);
}

}  // namespace torchclad::models

namespace clad::custom_derivatives::torchclad::models {
template <typename T>
void activate_pullback(int kind, T* a, ::torchclad::nn::Act x, ::torchclad::nn::Act y, int n, int*, T* d_a,
                       ::torchclad::nn::Act*, ::torchclad::nn::Act*, int*) {
  namespace nn = ::clad::custom_derivatives::torchclad::nn;
  switch (kind) {
    case ::torchclad::kernels::kRelu:
      nn::relu_pullback(a, x, y, n, d_a, nullptr, nullptr, nullptr);
      break;
    case ::torchclad::kernels::kTanh:
      nn::tanh_pullback(a, x, y, n, d_a, nullptr, nullptr, nullptr);
      break;
    case ::torchclad::kernels::kSigmoid:
      nn::sigmoid_pullback(a, x, y, n, d_a, nullptr, nullptr, nullptr);
      break;
    default:
      nn::detail::elementwise_pullback(a, d_a, x, y, n, [](T, T) { return T(1); });
  }
}
}  // namespace clad::custom_derivatives::torchclad::models

struct MlpOfWidths : torchclad::nn::Model {
  static constexpr int kMaxLayers = 64;
  int layers = 0;
  int activation = torchclad::kernels::kRelu;
  torchclad::nn::Linear fc[kMaxLayers];
  torchclad::nn::Act z[kMaxLayers], h[kMaxLayers];  // z: layer outputs; h = act(z) of the hidden ones

  MlpOfWidths(const std::vector<int>& widths, int activation) : activation(activation) {
    const int count = static_cast<int>(widths.size());
    if (count < 2 || count > kMaxLayers + 1)
      throw std::invalid_argument("Mlp: widths must list 2 to " + std::to_string(kMaxLayers + 1) +
                                  " sizes (input, hidden..., classes), found " + std::to_string(count));
    for (int w : widths)
      if (w < 1)
        throw std::invalid_argument("Mlp: every width must be at least 1, found " + std::to_string(w));
    if (activation < torchclad::kernels::kIdentity || activation > torchclad::kernels::kSigmoid)
      throw std::invalid_argument("Mlp: unknown activation " + std::to_string(activation));
    layers = count - 1;
    inputs(widths[0]);
    classes(widths[layers]);
    for (int l = 0; l < layers; ++l) {
      fc[l] = torchclad::nn::Linear("fc" + std::to_string(l + 1), widths[l], widths[l + 1]);
      z[l] = torchclad::nn::Act(widths[l + 1], "fc" + std::to_string(l + 1) + " output");
      if (l + 1 < layers) h[l] = torchclad::nn::Act(widths[l + 1], "activation " + std::to_string(l + 1));
    }
    output(z[layers - 1]);
  }

  template <class T>
  static T loss(const MlpOfWidths& m, const T* p, T* a, const T* x, const T* y, int n) {
    torchclad::nn::linear(m.fc[0], p, x, a, m.z[0], n);
    for (int l = 1; l < m.layers; ++l) {
      torchclad::models::activate(m.activation, a, m.z[l - 1], m.h[l - 1], n);
      torchclad::nn::linear(m.fc[l], p, a, m.h[l - 1], m.z[l], n);
    }
    return torchclad::nn::cross_entropy(a, m.z[m.layers - 1], y, n);
  }
};

#endif
