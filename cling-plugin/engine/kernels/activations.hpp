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

// ---- Smooth activations of pretrained models (ELU, GELU, SiLU, Softplus,
// HardSigmoid, HardSwish): each value and its derivative as PyTorch's CPU
// kernels compute them (the derivative at the kinks is PyTorch's choice), for
// nn.h's blocks and their hand-written pullbacks.

// ELU: v > 0 ? v : alpha (e^v - 1); derivative alpha e^v for v <= 0.
template <typename T>
T elu_scalar(T v, T alpha) {
  return v > T(0) ? v : alpha * std::expm1(v);
}
template <typename T>
T elu_derivative(T v, T alpha) {
  return v > T(0) ? T(1) : alpha * std::exp(v);
}

// GELU, exact: v Phi(v) = v (1 + erf(v / sqrt 2)) / 2; derivative Phi(v) + v phi(v).
template <typename T>
T gelu_scalar(T v) {
  return T(0.5) * v * (T(1) + std::erf(v * T(0.70710678118654752440)));
}
template <typename T>
T gelu_derivative(T v) {
  const T cdf = T(0.5) * (T(1) + std::erf(v * T(0.70710678118654752440)));
  const T pdf = T(0.39894228040143267794) * std::exp(T(-0.5) * v * v);
  return cdf + v * pdf;
}

// GELU, tanh approximation: v (1 + tanh(sqrt(2/pi) (v + 0.044715 v^3))) / 2.
template <typename T>
T gelu_tanh_scalar(T v) {
  const T inner = T(0.79788456080286535588) * (v + T(0.044715) * v * v * v);
  return T(0.5) * v * (T(1) + std::tanh(inner));
}
template <typename T>
T gelu_tanh_derivative(T v) {
  const T inner = T(0.79788456080286535588) * (v + T(0.044715) * v * v * v);
  const T t = std::tanh(inner);
  const T dinner = T(0.79788456080286535588) * (T(1) + T(3) * T(0.044715) * v * v);
  return T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * dinner;
}

// SiLU (Swish): v sigmoid(v); derivative s (1 + v (1 - s)).
template <typename T>
T silu_scalar(T v) {
  return v * sigmoid_scalar(v);
}
template <typename T>
T silu_derivative(T v) {
  const T s = sigmoid_scalar(v);
  return s * (T(1) + v * (T(1) - s));
}

// Softplus: log(1 + e^(beta v)) / beta, and v where beta v > threshold
// (PyTorch's; ONNX's Softplus is beta 1 without threshold); the log1p form
// that does not overflow. Derivative sigmoid(beta v), 1 past the threshold.
template <typename T>
T softplus_scalar(T v, T beta, T threshold) {
  const T z = beta * v;
  if (z > threshold) return v;
  return (z > T(0) ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z))) / beta;
}
template <typename T>
T softplus_derivative(T v, T beta, T threshold) {
  const T z = beta * v;
  return z > threshold ? T(1) : sigmoid_scalar(z);
}

// HardSigmoid: max(0, min(1, alpha v + beta)) (PyTorch's Hardsigmoid is
// alpha 1/6, beta 1/2); derivative alpha strictly inside (0, 1).
template <typename T>
T hard_sigmoid_scalar(T v, T alpha, T beta) {
  const T u = alpha * v + beta;
  return u <= T(0) ? T(0) : (u >= T(1) ? T(1) : u);
}
template <typename T>
T hard_sigmoid_derivative(T v, T alpha, T beta) {
  const T u = alpha * v + beta;
  return u > T(0) && u < T(1) ? alpha : T(0);
}

// HardSwish: v relu6(v + 3) / 6; derivative 0 below -3, v / 3 + 1/2 up to
// 3 (inclusive, PyTorch's), 1 above.
template <typename T>
T hard_swish_scalar(T v) {
  return v <= T(-3) ? T(0) : (v >= T(3) ? v : v * (v + T(3)) / T(6));
}
template <typename T>
T hard_swish_derivative(T v) {
  return v < T(-3) ? T(0) : (v <= T(3) ? v / T(3) + T(0.5) : T(1));
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
