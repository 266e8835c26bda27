// The MLP of torchclad's benchmark (784-128-10, ReLU, softmax cross-entropy)
// as a model definition (torchclad/nn.h), its layers in a loop. From the
// same seed it starts from the same parameters as the built-in Mlp.
// Register it with TORCHCLAD_MODEL(mlp_784_128_10, Mlp784x128x10).
#ifndef TORCHCLAD_MODELS_MLP_H
#define TORCHCLAD_MODELS_MLP_H
#include "torchclad/nn.h"

struct Mlp784x128x10 : torchclad::nn::Model {
  static constexpr int kLayers = 2;
  static constexpr int kWidth[kLayers + 1] = {784, 128, 10};
  torchclad::nn::Linear fc[kLayers];
  torchclad::nn::Act z[kLayers], h[kLayers];

  Mlp784x128x10() {
    inputs(kWidth[0]);
    classes(kWidth[kLayers]);
    for (int l = 0; l < kLayers; ++l) {
      fc[l] = torchclad::nn::Linear("fc" + std::to_string(l + 1), kWidth[l], kWidth[l + 1]);
      z[l] = torchclad::nn::Act(kWidth[l + 1]);
      h[l] = torchclad::nn::Act(kWidth[l + 1]);
    }
    output(z[kLayers - 1]);
    weights_read_once();  // as the built-in Mlp: batch-1 steps update fc weights in place
  }

  template <class T>
  static T loss(const Mlp784x128x10& m, const T* p, T* a, const T* x, const T* y, int n) {
    using namespace torchclad::nn;
    linear(m.fc[0], p, x, a, m.z[0], n);
    for (int l = 1; l < kLayers; ++l) {
      relu(a, m.z[l - 1], m.h[l - 1], n);
      linear(m.fc[l], p, a, m.h[l - 1], m.z[l], n);
    }
    return cross_entropy(a, m.z[kLayers - 1], y, n);
  }
};

#endif
