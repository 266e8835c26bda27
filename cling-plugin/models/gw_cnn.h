// The gravitational-wave CNN of torchclad's built-in Cnn (three Conv1d ->
// MaxPool1d -> ReLU blocks on 2048-sample windows, Linear 64, one logit,
// binary cross-entropy), written as a model definition (torchclad/nn.h).
// From the same seed it starts from the same parameters as the built-in and
// has the same gradient. Register it with TORCHCLAD_MODEL(gw_cnn, GwCnn).
#ifndef TORCHCLAD_MODELS_GW_CNN_H
#define TORCHCLAD_MODELS_GW_CNN_H
#include "torchclad/nn.h"

struct GwCnn : torchclad::nn::Model {
  static constexpr int kLength = 2048, kBlocks = 3, kHidden = 64;
  static constexpr int kChannels[kBlocks] = {8, 16, 32}, kKernel[kBlocks] = {16, 8, 8}, kPool = 4;
  torchclad::nn::Conv1d conv[kBlocks];
  torchclad::nn::Act convolved[kBlocks], pooled[kBlocks], activated[kBlocks];
  torchclad::nn::Linear fc1, fc2;
  torchclad::nn::Act flat, hidden, hidden_relu, logit;
  int length[kBlocks + 1] = {};  // input length of each block; [kBlocks]: after the last

  GwCnn() {
    inputs(kLength);
    binary();
    length[0] = kLength;
    int cin = 1;
    for (int b = 0; b < kBlocks; ++b) {
      conv[b] =
          torchclad::nn::Conv1d("conv" + std::to_string(b + 1), cin, kChannels[b], kKernel[b], length[b]);
      const int lout = length[b] - kKernel[b] + 1;
      length[b + 1] = lout / kPool;
      convolved[b] = torchclad::nn::Act(kChannels[b] * lout);
      pooled[b] = torchclad::nn::Act(kChannels[b] * length[b + 1]);
      activated[b] = torchclad::nn::Act(kChannels[b] * length[b + 1]);
      cin = kChannels[b];
    }
    const int features = kChannels[kBlocks - 1] * length[kBlocks];
    flat = torchclad::nn::Act(features);
    fc1 = torchclad::nn::Linear("fc1", features, kHidden);
    hidden = torchclad::nn::Act(kHidden);
    hidden_relu = torchclad::nn::Act(kHidden);
    fc2 = torchclad::nn::Linear("fc2", kHidden, 1);
    logit = torchclad::nn::Act(1);
    output(logit);
    weights_read_once();  // as the built-in Cnn: batch-1 steps update fc weights in place
  }

  template <class T>
  static T loss(const GwCnn& m, const T* p, T* a, const T* x, const T* y, int n) {
    using namespace torchclad::nn;
    conv1d(m.conv[0], p, x, a, m.convolved[0], n);
    // Pool before ReLU: max commutes with the monotone ReLU, which then runs on a quarter of the values.
    max_pool1d(a, m.convolved[0], m.pooled[0], kChannels[0], kPool, n);
    relu(a, m.pooled[0], m.activated[0], n);
    for (int b = 1; b < kBlocks; ++b) {
      conv1d(m.conv[b], p, a, m.activated[b - 1], m.convolved[b], n);
      max_pool1d(a, m.convolved[b], m.pooled[b], kChannels[b], kPool, n);
      relu(a, m.pooled[b], m.activated[b], n);
    }
    flatten(a, m.activated[kBlocks - 1], m.flat, kChannels[kBlocks - 1], n);
    linear(m.fc1, p, a, m.flat, m.hidden, n);
    relu(a, m.hidden, m.hidden_relu, n);
    linear(m.fc2, p, a, m.hidden_relu, m.logit, n);
    return bce_with_logits(a, m.logit, y, n);
  }
};

#endif
