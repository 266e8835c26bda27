#pragma once
// A step at batch 1 may apply the optimizer to a Linear layer's weight in
// the layer's pullback, where its gradient is the outer product dy ⊗ x: the
// gradient is then never written to the flat buffer and read back, and the
// step's working set (parameters and optimizer state, no gradient) is a third
// to a quarter smaller, so MLP 784-128-10 stays in L2. The engine
// (DefinedModel::fused_step) sets the update on its thread only for a
// definition whose weights no other block reads (Definition::weights_read_once):
// then the layer's term is the weight's whole gradient. The Linear pullbacks
// of torchclad/nn.h ask it. Defined in libtorchclad, not inline in a header,
// for the reason given in batch_weights.hpp.
//
// Plain C++17, no LibTorch type (nn.h includes it).
namespace torchclad::define {

class FusedWeightUpdate {
 public:
  virtual ~FusedWeightUpdate() = default;
  // d_w: where the weight [out, in]'s gradient would be accumulated;
  // dy [out] and x [in]: the layer's output adjoint and its input, one sample.
  // True if the weight was updated (the caller then leaves d_w alone).
  virtual bool apply(float* d_w, const float* dy, const float* x, int out, int in) = 0;
};

// This thread's update (null unless a scope below is open).
FusedWeightUpdate*& fused_weight_update();

// Sets this thread's update for a scope, and restores the earlier one.
class FusedWeightUpdateScope {
 public:
  explicit FusedWeightUpdateScope(FusedWeightUpdate* u) : saved_(fused_weight_update()) {
    fused_weight_update() = u;
  }
  ~FusedWeightUpdateScope() { fused_weight_update() = saved_; }
  FusedWeightUpdateScope(const FusedWeightUpdateScope&) = delete;
  FusedWeightUpdateScope& operator=(const FusedWeightUpdateScope&) = delete;

 private:
  FusedWeightUpdate* saved_;
};

}  // namespace torchclad::define
