#pragma once
#pragma GCC system_header  // users' cells see their own warnings, not ours
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
// Selects, not branches: on noisy data a branch mispredicts every other window.
template <typename T>
int max_pool1d_argmax(const T* row, int j, int pool) {
  int best = j * pool;
  T m = row[best];
  for (int p = 1; p < pool; ++p) {
    const T v = row[j * pool + p];
    const bool take = v > m || v != v;
    m = take ? v : m;
    best = take ? j * pool + p : best;
  }
  return best;
}

// The window's maximum by the same rule (NaN wins), for the forward pass.
template <typename T>
T max_pool1d_take(T m, T v) {
  return (v > m || v != v) ? v : m;
}

// One row, the window size a compile-time constant: the compiler vectorises
// across windows (interleaved loads).
template <int P, typename T>
void max_pool1d_row_fixed(const T* row, T* out, int lout) {
  for (int j = 0; j < lout; ++j) {
    T m = row[j * P];
    for (int p = 1; p < P; ++p) m = max_pool1d_take(m, row[j * P + p]);
    out[j] = m;
  }
}

// Backward of one row of windows of 4, given the window maxima `out` of the
// forward pass: the element that receives dy is the first equal to the
// maximum, or, when the maximum is NaN, the last NaN (PyTorch's rule, as
// max_pool1d_argmax). Masks and selects only, written out for 4 so that the
// compiler vectorises across windows (5-10x faster than the argmax scatter).
template <typename T>
void max_pool1d_row_backward_4(const T* row, const T* out, const T* dout, T* drow, int lout) {
  for (int j = 0; j < lout; ++j) {
    const T* w = row + 4 * j;
    const T m = out[j], g = dout[j];
    const bool q0 = w[0] == m, q1 = w[1] == m, q2 = w[2] == m, q3 = w[3] == m;
    const bool n0 = w[0] != w[0], n1 = w[1] != w[1], n2 = w[2] != w[2], n3 = w[3] != w[3];
    const bool nan_max = m != m;
    const bool h0 = nan_max ? n0 && !(n1 || n2 || n3) : q0;
    const bool h1 = nan_max ? n1 && !(n2 || n3) : q1 && !q0;
    const bool h2 = nan_max ? n2 && !n3 : q2 && !(q0 || q1);
    const bool h3 = nan_max ? n3 : q3 && !(q0 || q1 || q2);
    T* d = drow + 4 * j;
    d[0] += h0 ? g : T(0);
    d[1] += h1 ? g : T(0);
    d[2] += h2 ? g : T(0);
    d[3] += h3 ? g : T(0);
  }
}

// y[r, j] = max_{p < pool} x[r, j*pool + p]. Overwrites y.
template <typename T>
void max_pool1d_forward(const T* x, T* y, int rows, int lin, int pool) {
  const int lout = lin / pool;
  for (int r = 0; r < rows; ++r) {
    const T* row = x + long{r} * lin;
    T* out = y + long{r} * lout;
    if (pool == 4)
      max_pool1d_row_fixed<4>(row, out, lout);
    else if (pool == 2)
      max_pool1d_row_fixed<2>(row, out, lout);
    else
      for (int j = 0; j < lout; ++j) out[j] = row[max_pool1d_argmax(row, j, pool)];
  }
}

// dx[r, argmax] += dy[r, j] for every window, given the forward output y.
// Does not modify dy.
template <typename T>
void max_pool1d_backward(const T* x, const T* y, const T* d_y, T* d_x, int rows, int lin, int pool) {
  const int lout = lin / pool;
  for (int r = 0; r < rows; ++r) {
    const T* row = x + long{r} * lin;
    T* drow = d_x + long{r} * lin;
    const T* dout = d_y + long{r} * lout;
    if (pool == 4)
      max_pool1d_row_backward_4(row, y + long{r} * lout, dout, drow, lout);
    else
      for (int j = 0; j < lout; ++j) drow[max_pool1d_argmax(row, j, pool)] += dout[j];
  }
}

}  // namespace torchclad::kernels

namespace clad::custom_derivatives::torchclad::kernels {

// Pullback of max_pool1d_forward: the scatter above, then dy = 0 (y was
// overwritten). It reads y, the forward output, which the model's reverse
// pass still holds (nothing overwrites a buffer after its forward call). Written by hand: Clad's own pullback
// of the argmax loop would record the running maximum and index on a tape per window (allocations).
template <typename T>
void max_pool1d_forward_pullback(const T* x, T* y, int rows, int lin, int pool, T* d_x, T* d_y, int*, int*,
                                 int*) {
  ::torchclad::kernels::max_pool1d_backward<T>(x, y, d_y, d_x, rows, lin, pool);
  const long n = long{rows} * (lin / pool);
  for (long i = 0; i < n; ++i) d_y[i] = T(0);
}

}  // namespace clad::custom_derivatives::torchclad::kernels
