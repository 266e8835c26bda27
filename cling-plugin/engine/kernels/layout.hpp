#pragma once
#pragma GCC system_header  // users' cells see their own warnings, not ours
// PyTorch's batch-major order [batch, channels * len] to the channel-major
// model layout [channels, batch, len] (the inverse of cnn.hpp's
// channels_to_batch_major), and its backward pass.
namespace torchclad::kernels {

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
