#include "train/flush_denormals.hpp"

#include <ATen/Parallel.h>

#include "kernels/parallel.hpp"

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace torchclad::train {
namespace {

#if defined(__SSE__)
constexpr unsigned kFtzDaz = 0x8040;  // MXCSR: flush to zero (bit 15), denormals are zero (bit 6)
unsigned mode() { return _mm_getcsr(); }
void set_mode(unsigned m) { _mm_setcsr(m); }
#else
constexpr unsigned kFtzDaz = 0;  // other CPUs: denormals stay as they are
unsigned mode() { return 0; }
void set_mode(unsigned) {}
#endif

// Runs f(t) on each thread t > 0 of the OpenMP team that ATen's intra-op
// work and the kernels' parts run on (kernels/parallel.hpp: as many parts as
// threads puts part t on thread t; thread 0 is the caller).
template <class F>
void on_each_worker(F f) {
  const int n = at::get_num_threads();
  if (n <= 1) return;
  kernels::parallel_parts(n, n, [&](int t) {
    if (t > 0) f(t);
  });
}

}  // namespace

FlushDenormals::FlushDenormals() : caller_mode_(mode()) {
  // The workers first: a thread the team starts now inherits the caller's
  // mode, which must still be the one to restore.
  worker_modes_.assign(static_cast<size_t>(at::get_num_threads()), 0);
  on_each_worker([&](int t) {
    worker_modes_[t] = mode();
    set_mode(worker_modes_[t] | kFtzDaz);
  });
  set_mode(caller_mode_ | kFtzDaz);
}

FlushDenormals::~FlushDenormals() {
  on_each_worker([&](int t) {
    if (t < static_cast<int>(worker_modes_.size())) set_mode(worker_modes_[t]);
  });
  set_mode(caller_mode_);
}

bool FlushDenormals::active() { return kFtzDaz != 0 && (mode() & kFtzDaz) == kFtzDaz; }

}  // namespace torchclad::train
