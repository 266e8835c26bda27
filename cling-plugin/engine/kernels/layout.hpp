#pragma once
#pragma GCC system_header  // users' cells see their own warnings, not ours
// The channel-major model layout [channels, batch, len] of nn.h's conv and
// pooling blocks (each convolution is one GEMM over the whole batch) and
// PyTorch's batch-major order [batch, channels * len], both ways, with their
// backward passes: channels_to_batch_major is nn::flatten's (a custom
// pullback Clad calls), batch_major_to_channels nn_onnx.h's.
namespace torchclad::kernels {

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

// dst[c, b, l] = src[b, c*len + l].
template <typename T>
void batch_major_to_channels(const T* src, T* dst, int channels, int batch, int len) {
  for (int c = 0; c < channels; ++c)
    for (int b = 0; b < batch; ++b) {
      const T* s = src + (long{b} * channels + c) * len;
      T* d = dst + (long{c} * batch + b) * len;
      for (int l = 0; l < len; ++l) d[l] = s[l];
    }
}

// d_src[b, c*len + l] += d_dst[c, b, l]; then d_dst = 0.
template <typename T>
void batch_major_to_channels_backward(T* d_src, T* d_dst, int channels, int batch, int len) {
  for (int c = 0; c < channels; ++c)
    for (int b = 0; b < batch; ++b) {
      T* s = d_src + (long{b} * channels + c) * len;
      T* d = d_dst + (long{c} * batch + b) * len;
      for (int l = 0; l < len; ++l) {
        s[l] += d[l];
        d[l] = T(0);
      }
    }
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
