#pragma once
#pragma GCC system_header  // users' cells see their own warnings, not ours
// A whole 1D CNN binary classifier's forward pass and loss as one function,
// for Clad to differentiate as a unit (the model-level engine of the
// gravitational-wave workload; model/cnn_config.hpp gives the shape):
//   blocks of Conv1d -> ReLU -> MaxPool1d, flatten, Linear -> ReLU -> Linear
//   to one logit, mean binary cross-entropy with logits.
//
// Memory layout, chosen for speed: activations are channel-major over the
// whole batch, [channels, batch, length], so each convolution is one GEMM
// (im2col chunks, kernels/conv1d.hpp) over every sample at once, and pooling
// and ReLU are flat loops over channels*batch rows. The input x [batch, lin]
// is already this layout (one channel). After the last block one transpose
// gives [batch, channels*length], PyTorch's flatten order, for the Linear
// layers. Parameters are in one buffer in torch.nn's order and shapes
// (conv weight [cout, cin, k], bias [cout]; linear weight [out, in], bias).
//
// MaxPool and ReLU are applied in the order pool, then ReLU: max over a
// window commutes with the monotone ReLU, values and gradients alike (the
// window's argmax is the same element, and ReLU's gradient there is the same
// 0 or 1), and the ReLU then runs on a quarter of the values.
//
// The offset table (model/cnn_layout.hpp fills it) holds kCnnTableSize ints:
// per block b (< kMaxCnnBlocks) at b * kCnnBlockFields the fields kCnn*
// below, then the head's fields from kCnnHead.
#include "activations.hpp"
#include "binary_losses.hpp"
#include "conv1d.hpp"
#include "linear.hpp"
#include "pooling.hpp"

namespace torchclad::kernels {

inline constexpr int kMaxCnnBlocks = 4;

// Per-block fields.
inline constexpr int kCnnCin = 0;      // input channels
inline constexpr int kCnnLin = 1;      // input length
inline constexpr int kCnnCout = 2;     // output channels
inline constexpr int kCnnK = 3;        // kernel size
inline constexpr int kCnnLconv = 4;    // conv output length, lin - k + 1
inline constexpr int kCnnPool = 5;     // pooling window = stride
inline constexpr int kCnnLpool = 6;    // pooled length, lconv / pool
inline constexpr int kCnnWeight = 7;   // params: conv weight [cout, cin, k]
inline constexpr int kCnnBias = 8;     // params: conv bias [cout]
inline constexpr int kCnnConv = 9;     // acts: conv output [cout, batch, lconv]
inline constexpr int kCnnPooled = 10;  // acts: pooled [cout, batch, lpool]
inline constexpr int kCnnAct = 11;     // acts: relu(pooled), the next block's input
inline constexpr int kCnnBlockFields = 12;
// Head fields, from kCnnHead.
inline constexpr int kCnnHead = kMaxCnnBlocks * kCnnBlockFields;
inline constexpr int kCnnCol = kCnnHead + 0;       // acts: im2col scratch (shared by the blocks)
inline constexpr int kCnnLastC = kCnnHead + 1;     // channels of the last block
inline constexpr int kCnnLastL = kCnnHead + 2;     // pooled length of the last block
inline constexpr int kCnnLastAct = kCnnHead + 3;   // acts: the last block's output
inline constexpr int kCnnFlat = kCnnHead + 4;      // acts: flattened [batch, features]
inline constexpr int kCnnFeatures = kCnnHead + 5;  // lastC * lastL
inline constexpr int kCnnHidden = kCnnHead + 6;    // hidden width
inline constexpr int kCnnW1 = kCnnHead + 7;        // params: [hidden, features]
inline constexpr int kCnnB1 = kCnnHead + 8;        // params: [hidden]
inline constexpr int kCnnH = kCnnHead + 9;         // acts: pre-activation [batch, hidden]
inline constexpr int kCnnHAct = kCnnHead + 10;     // acts: relu(h)
inline constexpr int kCnnW2 = kCnnHead + 11;       // params: [1, hidden]
inline constexpr int kCnnB2 = kCnnHead + 12;       // params: [1]
inline constexpr int kCnnLogits = kCnnHead + 13;   // acts: logits [batch]
inline constexpr int kCnnTableSize = kCnnHead + 14;

// dst[b, c*len + l] = src[c, b, l]: channel-major to PyTorch's flatten order.
template <typename T>
void channels_to_batch_major(const T* src, T* dst, int channels, int batch, int len) {
  for (int c = 0; c < channels; ++c)
    for (int b = 0; b < batch; ++b) {
      const T* s = src + (long{c} * batch + b) * len;
      T* d = dst + (long{b} * channels + c) * len;
      for (int l = 0; l < len; ++l) d[l] = s[l];
    }
}

// Mean binary cross-entropy of the CNN's logits for x [batch, lin] and
// targets [batch]. Writes every layer's activations into `acts`, which the
// gradient reads.
template <typename T>
T cnn_bce_with_logits(const T* x, const T* targets, int batch, int blocks, const int* t, const T* params,
                      T* acts) {
  // Blocks are unrolled and inline: in a loop, a call writing
  // through a pointer makes Clad record the memory it modifies (a std::map).
  conv1d_forward_const_input(x, params + t[kCnnWeight], params + t[kCnnBias], acts + t[kCnnConv],
                             acts + t[kCnnCol], batch, t[kCnnCin], t[kCnnLin], t[kCnnCout], t[kCnnK]);
  max_pool1d_forward(acts + t[kCnnConv], acts + t[kCnnPooled], t[kCnnCout] * batch, t[kCnnLconv],
                     t[kCnnPool]);
  activation_forward(kRelu, acts + t[kCnnPooled], acts + t[kCnnAct], t[kCnnCout] * batch * t[kCnnLpool]);
  if (blocks > 1) {
    conv1d_forward(acts + t[kCnnAct], params + t[kCnnBlockFields + kCnnWeight],
                   params + t[kCnnBlockFields + kCnnBias], acts + t[kCnnBlockFields + kCnnConv],
                   acts + t[kCnnCol], batch, t[kCnnBlockFields + kCnnCin], t[kCnnBlockFields + kCnnLin],
                   t[kCnnBlockFields + kCnnCout], t[kCnnBlockFields + kCnnK]);
    max_pool1d_forward(acts + t[kCnnBlockFields + kCnnConv], acts + t[kCnnBlockFields + kCnnPooled],
                       t[kCnnBlockFields + kCnnCout] * batch, t[kCnnBlockFields + kCnnLconv],
                       t[kCnnBlockFields + kCnnPool]);
    activation_forward(kRelu, acts + t[kCnnBlockFields + kCnnPooled], acts + t[kCnnBlockFields + kCnnAct],
                       t[kCnnBlockFields + kCnnCout] * batch * t[kCnnBlockFields + kCnnLpool]);
  }
  if (blocks > 2) {
    conv1d_forward(acts + t[kCnnBlockFields + kCnnAct], params + t[2 * kCnnBlockFields + kCnnWeight],
                   params + t[2 * kCnnBlockFields + kCnnBias], acts + t[2 * kCnnBlockFields + kCnnConv],
                   acts + t[kCnnCol], batch, t[2 * kCnnBlockFields + kCnnCin],
                   t[2 * kCnnBlockFields + kCnnLin], t[2 * kCnnBlockFields + kCnnCout],
                   t[2 * kCnnBlockFields + kCnnK]);
    max_pool1d_forward(acts + t[2 * kCnnBlockFields + kCnnConv], acts + t[2 * kCnnBlockFields + kCnnPooled],
                       t[2 * kCnnBlockFields + kCnnCout] * batch, t[2 * kCnnBlockFields + kCnnLconv],
                       t[2 * kCnnBlockFields + kCnnPool]);
    activation_forward(kRelu, acts + t[2 * kCnnBlockFields + kCnnPooled],
                       acts + t[2 * kCnnBlockFields + kCnnAct],
                       t[2 * kCnnBlockFields + kCnnCout] * batch * t[2 * kCnnBlockFields + kCnnLpool]);
  }
  if (blocks > 3) {
    conv1d_forward(acts + t[2 * kCnnBlockFields + kCnnAct], params + t[3 * kCnnBlockFields + kCnnWeight],
                   params + t[3 * kCnnBlockFields + kCnnBias], acts + t[3 * kCnnBlockFields + kCnnConv],
                   acts + t[kCnnCol], batch, t[3 * kCnnBlockFields + kCnnCin],
                   t[3 * kCnnBlockFields + kCnnLin], t[3 * kCnnBlockFields + kCnnCout],
                   t[3 * kCnnBlockFields + kCnnK]);
    max_pool1d_forward(acts + t[3 * kCnnBlockFields + kCnnConv], acts + t[3 * kCnnBlockFields + kCnnPooled],
                       t[3 * kCnnBlockFields + kCnnCout] * batch, t[3 * kCnnBlockFields + kCnnLconv],
                       t[3 * kCnnBlockFields + kCnnPool]);
    activation_forward(kRelu, acts + t[3 * kCnnBlockFields + kCnnPooled],
                       acts + t[3 * kCnnBlockFields + kCnnAct],
                       t[3 * kCnnBlockFields + kCnnCout] * batch * t[3 * kCnnBlockFields + kCnnLpool]);
  }
  channels_to_batch_major(acts + t[kCnnLastAct], acts + t[kCnnFlat], t[kCnnLastC], batch, t[kCnnLastL]);
  linear_forward(acts + t[kCnnFlat], params + t[kCnnW1], params + t[kCnnB1], acts + t[kCnnH], batch,
                 t[kCnnHidden], t[kCnnFeatures]);
  activation_forward(kRelu, acts + t[kCnnH], acts + t[kCnnHAct], batch * t[kCnnHidden]);
  linear_forward(acts + t[kCnnHAct], params + t[kCnnW2], params + t[kCnnB2], acts + t[kCnnLogits], batch, 1,
                 t[kCnnHidden]);
  return binary_cross_entropy_with_logits(acts + t[kCnnLogits], targets, batch);
}

}  // namespace torchclad::kernels

namespace clad::custom_derivatives::torchclad::kernels {

// Pullback of the flatten transpose: d_src[c, b, l] += d_dst[b, c*len + l],
// then d_dst = 0 (dst was overwritten). By hand: Clad's pullback of the
// nested loops would tape the inner counters.
template <typename T>
void channels_to_batch_major_pullback(const T* src, T* dst, int channels, int batch, int len, T* d_src,
                                      T* d_dst, int*, int*, int*) {
  for (int c = 0; c < channels; ++c)
    for (int b = 0; b < batch; ++b) {
      T* s = d_src + (long{c} * batch + b) * len;
      T* d = d_dst + (long{b} * channels + c) * len;
      for (int l = 0; l < len; ++l) {
        s[l] += d[l];
        d[l] = T(0);
      }
    }
}

}  // namespace clad::custom_derivatives::torchclad::kernels
