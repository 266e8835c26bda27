#pragma once
#pragma GCC system_header  // users' cells see their own warnings, not ours
// Row-major GEMM on the BLAS that LibTorch itself links (MKL in the PyPI
// wheels, exported from libtorch_cpu as the Fortran `sgemm_`/`dgemm_`).
// Raw pointers and no tensor objects: a call allocates nothing.
namespace torchclad::blas {

// C[m,n] = alpha * op(A) * op(B) + beta * C, all row-major.
// op(A) is [m,k] (A stored [k,m] when trans_a), op(B) is [k,n] (B stored [n,k] when trans_b).
void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc);
void gemm(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const double* a, int lda,
          const double* b, int ldb, double beta, double* c, int ldc);

// The BLAS single-threaded on the calling thread while alive (MKL's
// per-thread setting; nothing with another BLAS). For callers that
// parallelise over samples themselves: MKL threading many small GEMMs costs a
// fork-join each.
class SequentialScope {
 public:
  SequentialScope();
  ~SequentialScope();
  SequentialScope(const SequentialScope&) = delete;
  SequentialScope& operator=(const SequentialScope&) = delete;

 private:
  int saved_;
};

}  // namespace torchclad::blas
