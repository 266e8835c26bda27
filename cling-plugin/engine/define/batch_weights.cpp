#include "define/batch_weights.hpp"

namespace torchclad::define {

BatchWeights& batch_weights() {
  static thread_local BatchWeights weights;
  return weights;
}

}  // namespace torchclad::define
