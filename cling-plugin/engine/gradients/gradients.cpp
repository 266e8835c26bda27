// The one translation unit compiled with the Clad plugin: each
// clad::gradient call below makes Clad generate, at build time, the reverse
// pass of a kernel (and of every function it calls that has no custom
// pullback). Built with CLAD_NO_NUM_DIFF: a call Clad cannot differentiate
// is a build error, never a silent numerical fallback.
#include "gradients/gradients.hpp"

#include "clad/Differentiator/Differentiator.h"
#include "kernels/activations.hpp"
#include "kernels/binary_losses.hpp"
#include "kernels/losses.hpp"

namespace torchclad::grad {
namespace k = torchclad::kernels;

#define TORCHCLAD_DEFINE_GRADIENTS(T)                                                             \
  namespace {                                                                                     \
  auto activation_grad_##T = clad::gradient(k::activation_forward<T>, "x, y");                    \
  auto softmax_cross_entropy_grad_##T = clad::gradient(k::softmax_cross_entropy<T>, "logits");    \
  auto mse_grad_##T = clad::gradient(k::mse<T>, "pred, target");                                  \
  auto bce_with_logits_grad_##T = clad::gradient(k::binary_cross_entropy_with_logits<T>, "z, y"); \
  }                                                                                               \
  void binary_cross_entropy_with_logits(const T* z, const T* y, int n, T* d_z, T* d_y) {          \
    bce_with_logits_grad_##T.execute(z, y, n, d_z, d_y);                                          \
  }                                                                                               \
  void activation(int act, const T* x, T* y, int n, T* d_x, T* d_y) {                             \
    activation_grad_##T.execute(act, x, y, n, d_x, d_y);                                          \
  }                                                                                               \
  void softmax_cross_entropy(const T* logits, const int* labels, int m, int n, T* d_logits) {     \
    softmax_cross_entropy_grad_##T.execute(logits, labels, m, n, d_logits);                       \
  }                                                                                               \
  void mse(const T* pred, const T* target, int n, T* d_pred, T* d_target) {                       \
    mse_grad_##T.execute(pred, target, n, d_pred, d_target);                                      \
  }

TORCHCLAD_DEFINE_GRADIENTS(float)
TORCHCLAD_DEFINE_GRADIENTS(double)

}  // namespace torchclad::grad
