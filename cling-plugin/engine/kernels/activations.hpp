#pragma once
#pragma GCC system_header  // users' cells see their own warnings, not ours
// Activation kernels: plain loops over contiguous buffers, whose pullbacks
// Clad writes. (The Linear layer and its pullback are in linear.hpp.)
//
// Written for Clad's reverse mode without a tape: no locals assigned inside
// loops and no nested loops in one function (an inner loop's counter is
// reset per outer iteration, which Clad would record), so the generated
// backward pass allocates nothing at any batch size.
#include <cmath>

namespace torchclad::kernels {

enum Activation : int { kIdentity = 0, kRelu = 1, kTanh = 2, kSigmoid = 3 };

// max(v, 0) with PyTorch's rule (v <= 0 gives 0, so -inf gives 0 and NaN
// stays NaN; the gradient passes where v > 0 or v is NaN). A scalar function:
// Clad records the ternary's condition, and in a function of its own the
// record stays on its stack frame instead of growing a tape across the loop.
template <typename T>
T relu_scalar(T v) {
  return v <= T(0) ? T(0) : v;
}

template <typename T>
void relu_forward(const T* x, T* y, int n) {
  for (int i = 0; i < n; ++i) y[i] = relu_scalar(x[i]);
}

template <typename T>
void tanh_forward(const T* x, T* y, int n) {
  for (int i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}

// 1 / (1 + e^-v), in the two-branch form that never overflows: Clad
// differentiates each branch as written (forward mode, for a scalar
// function), and only this form keeps the derivative finite for every v,
// ±inf included. (1 + tanh(v/2)) / 2 gave NaN at ±inf: Clad multiplies v by
// the zero derivative of the constant 1/2. A scalar function, for the same
// reason as relu_scalar.
template <typename T>
T sigmoid_scalar(T v) {
  if (v >= T(0)) return T(1) / (T(1) + std::exp(-v));
  return std::exp(v) / (T(1) + std::exp(v));
}

template <typename T>
void sigmoid_forward(const T* x, T* y, int n) {
  for (int i = 0; i < n; ++i) y[i] = sigmoid_scalar(x[i]);
}

template <typename T>
void identity_forward(const T* x, T* y, int n) {
  for (int i = 0; i < n; ++i) y[i] = x[i];
}

// y = act(x) elementwise over n values; `act` is an Activation.
template <typename T>
void activation_forward(int act, const T* x, T* y, int n) {
  if (act == kRelu)
    relu_forward(x, y, n);
  else if (act == kTanh)
    tanh_forward(x, y, n);
  else if (act == kSigmoid)
    sigmoid_forward(x, y, n);
  else
    identity_forward(x, y, n);
}

}  // namespace torchclad::kernels

namespace clad::custom_derivatives::torchclad::kernels {

// The forward pass Clad runs for activation_forward inside a differentiated
// caller. activation_forward writes y from x alone, so nothing needs
// restoring before its pullback runs; without this function Clad saves every
// element of y in a restore_tracker (a std::map: allocations in each
// training step) where a layer's output feeds the next GEMM. (Clad's own
// `elidable_reverse_forw` marker is no substitute: it also runs the
// activation on the adjoint buffers, which is wrong for the sigmoid.)
template <typename T>
void activation_forward_reverse_forw(int act, const T* x, T* y, int n, int /*d_act*/, const T* /*d_x*/,
                                     T* /*d_y*/, int /*d_n*/) {
  ::torchclad::kernels::activation_forward(act, x, y, n);
}

}  // namespace clad::custom_derivatives::torchclad::kernels
