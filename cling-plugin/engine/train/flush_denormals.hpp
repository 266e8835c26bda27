#pragma once
// Denormal floats flushed to zero while a run trains (the x86 MXCSR's FTZ
// and DAZ bits, as torch.set_flush_denormal(True) sets them), on the calling
// thread and on ATen's intra-op threads; the previous mode comes back when
// the guard ends, so a ROOT session or notebook keeps its own.
//
// Why: over a long run, values that decay geometrically without being
// refreshed (Adam's second moment of a dead ReLU unit, whose gradient is
// exactly 0, shrinks by beta2 = 0.999 per step) spend tens of thousands of
// steps in the denormal range, where each arithmetic operation on them costs
// about a hundred cycles: measured here, an MLP 64-256-128-2 with Adam at
// batch 64 fell from 203k to 35k samples/s between epochs 1 and 8 of a
// 200k-sample set, and kept 178k with this guard, with the same losses. Real
// data makes it worse: inputs that are always 0 (an image's border) give
// their weights zero gradients, and on Fashion-MNIST (MLP 784-128-10, batch
// 32) the fused SGD update took 45% of an epoch. Values below 1.2e-38, far
// below a float parameter's resolution, then count as 0.
#include <cstdint>
#include <vector>

namespace torchclad::train {

class FlushDenormals {
 public:
  FlushDenormals();
  ~FlushDenormals();
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

  // Whether the calling thread flushes denormals now (for the tests).
  static bool active();

 private:
  unsigned caller_mode_ = 0;
  std::vector<unsigned> worker_modes_;  // per intra-op thread index
};

}  // namespace torchclad::train
