#pragma once
// MaxPool1d with kernel = stride = pool, no padding (torch.nn.MaxPool1d(pool)):
// the forward pass and a hand-written pullback that finds each window's
// argmax again from the input (which the reverse pass still holds), so no
// index buffer and no Clad tape are needed.
//
// Rows are independent: x[rows, lin] -> y[rows, lout] with lout = lin / pool
// (floor; a trailing partial window is dropped, as PyTorch does). In the
// channel-major model layout, rows = channels * batch.
#include <cmath>

namespace torchclad::kernels {

// Index (within its row) of the maximum of x[j*pool .. j*pool + pool): the
// first maximum, or the last NaN, as PyTorch's CPU kernel picks
// (`val > max || isnan(val)`), so gradients go where PyTorch sends them.
template <typename T>
int max_pool1d_argmax(const T* row, int j, int pool) {
  int best = j * pool;
  T m = row[best];
  for (int p = 1; p < pool; ++p) {
    const T v = row[j * pool + p];
    if (v > m || std::isnan(v)) {
      m = v;
      best = j * pool + p;
    }
  }
  return best;
}

// y[r, j] = max_{p < pool} x[r, j*pool + p]. Overwrites y.
template <typename T>
void max_pool1d_forward(const T* x, T* y, int rows, int lin, int pool) {
  const int lout = lin / pool;
  for (int r = 0; r < rows; ++r) {
    const T* row = x + long{r} * lin;
    T* out = y + long{r} * lout;
    for (int j = 0; j < lout; ++j) out[j] = row[max_pool1d_argmax(row, j, pool)];
  }
}

// dx[r, argmax] += dy[r, j] for every window. Does not modify dy.
template <typename T>
void max_pool1d_backward(const T* x, const T* d_y, T* d_x, int rows, int lin, int pool) {
  const int lout = lin / pool;
  for (int r = 0; r < rows; ++r) {
    const T* row = x + long{r} * lin;
    T* drow = d_x + long{r} * lin;
    const T* dout = d_y + long{r} * lout;
    for (int j = 0; j < lout; ++j) drow[max_pool1d_argmax(row, j, pool)] += dout[j];
  }
}

}  // namespace torchclad::kernels

namespace clad::custom_derivatives::torchclad::kernels {

// Pullback of max_pool1d_forward: the scatter above, then dy = 0 (y was
// overwritten). Written by hand: Clad's own pullback of the argmax loop would
// record the running maximum and index on a tape per window (allocations).
template <typename T>
void max_pool1d_forward_pullback(const T* x, T* y, int rows, int lin, int pool, T* d_x, T* d_y,
                                 int*, int*, int*) {
  ::torchclad::kernels::max_pool1d_backward(x, d_y, d_x, rows, lin, pool);
  const long n = long{rows} * (lin / pool);
  for (long i = 0; i < n; ++i) d_y[i] = T(0);
}

}  // namespace clad::custom_derivatives::torchclad::kernels
