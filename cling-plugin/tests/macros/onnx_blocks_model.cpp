// A model built from the blocks for imported models (Conv2d, BatchNorm with
// constant running statistics, LeakyReLU, MaxPool2d, flatten, Linear),
// compiled with Clad at run time by torchclad::load_models (load_onnx_blocks.C).
#include "torchclad/nn.h"

namespace nn = torchclad::nn;

static const double kRunningMean[2] = {0.1, -0.1}, kRunningVar[2] = {1.2, 0.8};

struct TinyImageNet : nn::Model {
  nn::Conv2d conv{"conv", 1, 2, 3, 3, 4, 4, nn::Conv2dOptions{1, 1, 1, 1}};
  nn::Act h{32}, b{32}, r{32};
  nn::Const mean{"bn.running_mean", kRunningMean, {2}}, var{"bn.running_var", kRunningVar, {2}};
  nn::BatchNorm bn{"bn", 2, 16, mean, var};
  nn::MaxPool2d pool{"pool", 2, 4, 4, 2, 2};
  nn::Act pooled{8}, flat{8};
  nn::Linear fc{"fc", 8, 2};
  nn::Act logits{2};
  TinyImageNet() {
    inputs(16);
    classes(2);
    output(logits);
  }
  template <class T>
  static T loss(const TinyImageNet& m, const T* p, T* a, const T* x, const T* y, int n) {
    nn::conv2d(m.conv, p, x, a, m.h, n);
    nn::batch_norm(m.bn, p, a, m.h, m.b, n);
    nn::leaky_relu(a, m.b, m.r, 0.1, n);
    nn::max_pool2d(m.pool, a, m.r, m.pooled, n);
    nn::flatten(a, m.pooled, m.flat, 2, n);
    nn::linear(m.fc, p, a, m.flat, m.logits, n);
    return nn::cross_entropy(a, m.logits, y, n);
  }
};
TORCHCLAD_MODEL(tiny_image_net, TinyImageNet)
