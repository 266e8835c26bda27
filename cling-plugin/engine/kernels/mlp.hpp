#pragma once
#pragma GCC system_header  // users' cells see their own warnings, not ours
// A whole MLP's forward pass and loss as one function, for Clad to
// differentiate as a unit (the model-level engine).
//
// Memory layout, as llm.c does it: all parameters in one buffer and all
// activations in another, carved by offset tables computed once per shape
// (model/mlp_layout.hpp). The gradient buffer has the parameters' layout, so
// the optimizer runs one fused loop over it.
#include "activations.hpp"
#include "linear.hpp"
#include "losses.hpp"

namespace torchclad::kernels {

inline constexpr int kMaxMlpLayers = 4;

// The offset tables (model/mlp_layout.hpp) place, for layers l = 0..layers-1
// of widths[0] -> ... -> widths[layers] (layers <= kMaxMlpLayers):
//   W_l [widths[l+1], widths[l]] at params + weight[l],  b_l at params + bias[l],
//   z_l [batch, widths[l+1]] at acts + pre[l],  a_l = act(z_l) at acts + post[l].
// Mean softmax cross-entropy of the MLP's logits for a batch x[batch, widths[0]].
// Writes every layer's activations into `acts`, which the gradient reads.
template <typename T>
T mlp_cross_entropy(const T* x, const int* labels, int batch, int layers, const int* widths,
                    const int* weight, const int* bias, const int* pre, const int* post, int act,
                    const T* params, T* acts) {
  linear_forward_const_input(x, params + weight[0], params + bias[0], acts + pre[0], batch, widths[1],
                             widths[0]);
  // Hidden layers are unrolled and inline. In a loop, a call that writes
  // through a pointer makes Clad record the memory it modifies (a std::map,
  // so it allocates); in a helper function, Clad's pullback of the helper
  // would run the layer's forward GEMM a second time.
  if (layers > 1) {
    activation_forward(act, acts + pre[0], acts + post[0], batch * widths[1]);
    linear_forward(acts + post[0], params + weight[1], params + bias[1], acts + pre[1], batch, widths[2],
                   widths[1]);
  }
  if (layers > 2) {
    activation_forward(act, acts + pre[1], acts + post[1], batch * widths[2]);
    linear_forward(acts + post[1], params + weight[2], params + bias[2], acts + pre[2], batch, widths[3],
                   widths[2]);
  }
  if (layers > 3) {
    activation_forward(act, acts + pre[2], acts + post[2], batch * widths[3]);
    linear_forward(acts + post[2], params + weight[3], params + bias[3], acts + pre[3], batch, widths[4],
                   widths[3]);
  }
  return softmax_cross_entropy(acts + pre[layers - 1], labels, batch, widths[layers]);
}

}  // namespace torchclad::kernels
