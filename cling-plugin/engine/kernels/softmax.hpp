#pragma once
#pragma GCC system_header  // users' cells see their own warnings, not ours
// Softmax and LogSoftmax over the rows of x[rows, width] (the max-shifted
// form, as PyTorch), and their backward passes given the forward output y.
// No Clad in here: torchclad/nn_onnx.h's blocks call these from their
// custom pullbacks.
#include <cmath>

namespace torchclad::kernels {

template <typename T>
void softmax_rows(const T* x, T* y, int rows, int width, bool log) {
  for (int r = 0; r < rows; ++r) {
    const T* in = x + long{r} * width;
    T* out = y + long{r} * width;
    T m = in[0];
    for (int j = 1; j < width; ++j) m = in[j] > m ? in[j] : m;
    T sum = T(0);
    for (int j = 0; j < width; ++j) sum += std::exp(in[j] - m);
    if (log) {
      const T lse = m + std::log(sum);
      for (int j = 0; j < width; ++j) out[j] = in[j] - lse;
    } else {
      for (int j = 0; j < width; ++j) out[j] = std::exp(in[j] - m) / sum;
    }
  }
}

// dx += y * (dy - Σ dy·y) (softmax) or dx += dy - exp(y) Σ dy (log-softmax); then dy = 0.
template <typename T>
void softmax_rows_backward(const T* y, T* d_y, T* d_x, int rows, int width, bool log) {
  for (int r = 0; r < rows; ++r) {
    const T* out = y + long{r} * width;
    T* dout = d_y + long{r} * width;
    T* din = d_x + long{r} * width;
    T s = T(0);
    for (int j = 0; j < width; ++j) s += log ? dout[j] : dout[j] * out[j];
    for (int j = 0; j < width; ++j) {
      din[j] += log ? dout[j] - std::exp(out[j]) * s : out[j] * (dout[j] - s);
      dout[j] = T(0);
    }
  }
}

}  // namespace torchclad::kernels
