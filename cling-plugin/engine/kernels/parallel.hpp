#pragma once
#pragma GCC system_header  // users' cells see their own warnings, not ours
// Parts of a computation on the threads of the OpenMP runtime that LibTorch
// runs its intra-op work on (libgomp in the PyPI wheels), without
// -fopenmp: at::parallel_for's OpenMP backend is a `#pragma omp parallel`
// inlined from ATen's header, and in a library compiled without -fopenmp it
// is a serial loop (measured: 2 threads no faster than 1). The runtime's
// entry point, called directly, runs on its thread team. Weak symbols:
// without libgomp the parts run one after another on the calling thread.
// No allocation per call once the team exists (tested by the model-level
// allocation test at 2 threads).
extern "C" {
__attribute__((weak)) void GOMP_parallel(void (*fn)(void*), void* data, unsigned num_threads, unsigned flags);
__attribute__((weak)) int omp_get_thread_num();
__attribute__((weak)) int omp_get_num_threads();
}

namespace torchclad::kernels {

namespace detail {
template <typename F>
struct PartLoop {
  const F& f;
  int parts;
  static void run(void* self) {
    auto* loop = static_cast<PartLoop*>(self);
    const bool team = GOMP_parallel && omp_get_thread_num && omp_get_num_threads;
    const int tid = team ? omp_get_thread_num() : 0, size = team ? omp_get_num_threads() : 1;
    for (int p = tid; p < loop->parts; p += size) loop->f(p);
  }
};
}  // namespace detail

// Calls f(p) for p in [0, parts) on up to `threads` threads, each part once;
// returns when all are done.
template <typename F>
void parallel_parts(int parts, int threads, const F& f) {
  detail::PartLoop<F> loop{f, parts};
  const int n = threads < parts ? threads : parts;
  if (GOMP_parallel && n > 1)
    GOMP_parallel(&detail::PartLoop<F>::run, &loop, static_cast<unsigned>(n), 0);
  else
    for (int p = 0; p < parts; ++p) f(p);
}

}  // namespace torchclad::kernels
