#pragma once
// Clad-generated gradients of the kernels, behind plain functions so that the
// rest of the engine (which includes LibTorch, compiled without the Clad
// plugin) never sees Clad. Defined in gradients.cpp, the translation unit
// where the clad::gradient requests are made at build time.
//
// Conventions, as in Clad: adjoints accumulate (+=) into d_* buffers, and the
// adjoint of an overwritten output (d_y) is consumed: it is zero on return.
// Each function runs the kernel's forward pass again (the output buffers are
// rewritten with the same values) before its reverse pass.
namespace torchclad::grad {

// (The whole-model gradients of model definitions, the built-in Mlp and Cnn
// among them, are generated where each definition is compiled: models/,
// torchclad/nn.h.)
#define TORCHCLAD_DECLARE_GRADIENTS(T)                                                       \
  /* y = act(x): d_x += act'(x) * d_y; d_y = 0. */                                           \
  void activation(int act, const T* x, T* y, int n, T* d_x, T* d_y);                         \
  /* mean softmax cross-entropy: d_logits += ∂loss/∂logits (seed 1). */                      \
  void softmax_cross_entropy(const T* logits, const int* labels, int m, int n, T* d_logits); \
  /* mean squared error: d_pred += ∂loss/∂pred, d_target += ∂loss/∂target. */                \
  void mse(const T* pred, const T* target, int n, T* d_pred, T* d_target);                   \
  /* mean BCE with logits: d_z += ∂loss/∂z, d_y += ∂loss/∂y (seed 1). */                     \
  void binary_cross_entropy_with_logits(const T* z, const T* y, int n, T* d_z, T* d_y);

TORCHCLAD_DECLARE_GRADIENTS(float)
TORCHCLAD_DECLARE_GRADIENTS(double)
#undef TORCHCLAD_DECLARE_GRADIENTS

}  // namespace torchclad::grad
