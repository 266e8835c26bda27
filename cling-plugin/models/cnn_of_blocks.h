// torchclad's built-in Cnn (the gravitational-wave classifier) as a model
// definition (torchclad/nn.h) configured at run time: blocks of Conv1d
// (stride 1, no padding) -> MaxPool1d (kernel = stride = pool) -> ReLU,
// then Linear -> ReLU -> Linear to one logit, binary cross-entropy. With the
// default configuration it is models/gw_cnn.h's GwCnn; the blocks are a loop
// over fixed-capacity arrays of handles.
//
// Parameters conv1.weight, conv1.bias, ..., fc1.*, fc2.* with torch.nn's
// initialisation, in torch.nn's module order: from a seed, the comparison
// engines' values. Made by name ("cnn-2048-c8k16p4-c16k8p4-c32k8p4-h64") in
// models/builtin_definitions.cpp.
#ifndef TORCHCLAD_MODELS_CNN_OF_BLOCKS_H
#define TORCHCLAD_MODELS_CNN_OF_BLOCKS_H
#include <stdexcept>
#include <string>
#include <vector>

#include "torchclad/nn.h"

struct CnnBlockSpec {
  int channels = 8, kernel = 16, pool = 4;
};

struct CnnOfBlocks : torchclad::nn::Model {
  static constexpr int kMaxBlocks = 16;
  int blocks = 0;
  int channels[kMaxBlocks] = {}, pool[kMaxBlocks] = {};
  torchclad::nn::Conv1d conv[kMaxBlocks];
  torchclad::nn::Act convolved[kMaxBlocks], pooled[kMaxBlocks], activated[kMaxBlocks];
  torchclad::nn::Linear fc1, fc2;
  torchclad::nn::Act flat, hidden, hidden_relu, logit;

  CnnOfBlocks(int length, const std::vector<CnnBlockSpec>& spec, int hidden_width) {
    const int count = static_cast<int>(spec.size());
    if (count < 1 || count > kMaxBlocks)
      throw std::invalid_argument("Cnn: 1 to " + std::to_string(kMaxBlocks) + " conv blocks, found " +
                                  std::to_string(count));
    if (length < 1 || hidden_width < 1)
      throw std::invalid_argument("Cnn: input_length and hidden must be at least 1, found " +
                                  std::to_string(length) + " and " + std::to_string(hidden_width));
    inputs(length);
    binary();
    blocks = count;
    int cin = 1, lin = length;
    for (int b = 0; b < blocks; ++b) {
      const auto& s = spec[b];
      const std::string name = "conv" + std::to_string(b + 1);
      if (s.channels < 1 || s.kernel < 1 || s.pool < 1)
        throw std::invalid_argument(
            "Cnn: block " + std::to_string(b) + " needs channels, kernel and pool of at least 1, found " +
            std::to_string(s.channels) + ", " + std::to_string(s.kernel) + ", " + std::to_string(s.pool));
      const int lconv = lin - s.kernel + 1;
      if (lconv < 1 || lconv / s.pool < 1)
        throw std::invalid_argument("Cnn: block " + std::to_string(b) + " (kernel " +
                                    std::to_string(s.kernel) + ", pool " + std::to_string(s.pool) + ") on " +
                                    std::to_string(lin) + " samples: the signal shrinks to nothing");
      conv[b] = torchclad::nn::Conv1d(name, cin, s.channels, s.kernel, lin);
      channels[b] = s.channels;
      pool[b] = s.pool;
      convolved[b] = torchclad::nn::Act(s.channels * lconv, name + " output");
      pooled[b] = torchclad::nn::Act(s.channels * (lconv / s.pool), name + " pooled");
      activated[b] = torchclad::nn::Act(s.channels * (lconv / s.pool), name + " relu");
      cin = s.channels;
      lin = lconv / s.pool;
    }
    flat = torchclad::nn::Act(cin * lin, "flat");
    fc1 = torchclad::nn::Linear("fc1", cin * lin, hidden_width);
    hidden = torchclad::nn::Act(hidden_width, "fc1 output");
    hidden_relu = torchclad::nn::Act(hidden_width, "fc1 relu");
    fc2 = torchclad::nn::Linear("fc2", hidden_width, 1);
    logit = torchclad::nn::Act(1, "logit");
    output(logit);
  }

  template <class T>
  static T loss(const CnnOfBlocks& m, const T* p, T* a, const T* x, const T* y, int n) {
    torchclad::nn::conv1d(m.conv[0], p, x, a, m.convolved[0], n);
    // Pool before ReLU: max commutes with the monotone ReLU, which then runs on 1/pool of the values.
    torchclad::nn::max_pool1d(a, m.convolved[0], m.pooled[0], m.channels[0], m.pool[0], n);
    torchclad::nn::relu(a, m.pooled[0], m.activated[0], n);
    for (int b = 1; b < m.blocks; ++b) {
      torchclad::nn::conv1d(m.conv[b], p, a, m.activated[b - 1], m.convolved[b], n);
      torchclad::nn::max_pool1d(a, m.convolved[b], m.pooled[b], m.channels[b], m.pool[b], n);
      torchclad::nn::relu(a, m.pooled[b], m.activated[b], n);
    }
    torchclad::nn::flatten(a, m.activated[m.blocks - 1], m.flat, m.channels[m.blocks - 1], n);
    torchclad::nn::linear(m.fc1, p, a, m.flat, m.hidden, n);
    torchclad::nn::relu(a, m.hidden, m.hidden_relu, n);
    torchclad::nn::linear(m.fc2, p, a, m.hidden_relu, m.logit, n);
    return torchclad::nn::bce_with_logits(a, m.logit, y, n);
  }
};

#endif
