#include "define/fused_weight_update.hpp"

namespace torchclad::define {

FusedWeightUpdate*& fused_weight_update() {
  static thread_local FusedWeightUpdate* update = nullptr;
  return update;
}

}  // namespace torchclad::define
