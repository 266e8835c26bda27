#pragma once
// The per-sample weights of the batch a model's loss is computed on, for the
// loss blocks of torchclad/nn.h. The engine (DefinedModel) sets them on the
// thread that computes a part of a batch; the blocks read them. They are data,
// not differentiated. Defined in libtorchclad (one variable per thread for
// the engine and every compiled cell), not inline in a header: a %%clad
// cell's library would otherwise get a copy of its own.
//
// Plain C++17, no LibTorch type (nn.h includes it).
namespace torchclad::define {

struct BatchWeights {
  // One factor per sample of the part (w[i] for sample i of x), or null:
  // every sample weighs 1. The loss blocks compute (1/n) sum_i w[i] l_i.
  const float* f = nullptr;
  const double* d = nullptr;
};

// This thread's weights (null pointers unless a scope below is open).
BatchWeights& batch_weights();

// Sets this thread's weights for a scope, and restores the earlier ones.
class BatchWeightsScope {
 public:
  explicit BatchWeightsScope(const float* w) : saved_(batch_weights()) {
    batch_weights() = BatchWeights{w, nullptr};
  }
  explicit BatchWeightsScope(const double* w) : saved_(batch_weights()) {
    batch_weights() = BatchWeights{nullptr, w};
  }
  ~BatchWeightsScope() { batch_weights() = saved_; }
  BatchWeightsScope(const BatchWeightsScope&) = delete;
  BatchWeightsScope& operator=(const BatchWeightsScope&) = delete;

 private:
  BatchWeights saved_;
};

}  // namespace torchclad::define
