#include "blas.hpp"

// Fortran BLAS symbols exported by libtorch_cpu (LP64 interface: 32-bit ints).
extern "C" {
void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
            const float* beta, float* c, const int* ldc);
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b, const int* ldb,
            const double* beta, double* c, const int* ldc);
// MKL's per-thread thread count, its Fortran entry point (by pointer: in the
// wheel's libtorch_cpu the unsuffixed name is the same Fortran stub, and an
// int by value crashed). Weak, so a BLAS without it still links.
__attribute__((weak)) int mkl_set_num_threads_local_(const int* n);
}

namespace torchclad::blas {

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the
// operands and the sizes m and n, keep each operand's transpose flag.
void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
          const float* b, int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  const char ta = trans_a ? 'T' : 'N', tb = trans_b ? 'T' : 'N';
  sgemm_(&tb, &ta, &n, &m, &k, &alpha, b, &ldb, a, &lda, &beta, c, &ldc);
}

void gemm(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const double* a, int lda,
          const double* b, int ldb, double beta, double* c, int ldc) {
  if (m == 0 || n == 0) return;
  const char ta = trans_a ? 'T' : 'N', tb = trans_b ? 'T' : 'N';
  dgemm_(&tb, &ta, &n, &m, &k, &alpha, b, &ldb, a, &lda, &beta, c, &ldc);
}

namespace {
int set_local_threads(int n) { return mkl_set_num_threads_local_ ? mkl_set_num_threads_local_(&n) : 0; }
}  // namespace

SequentialScope::SequentialScope() : saved_(set_local_threads(1)) {}
SequentialScope::~SequentialScope() { set_local_threads(saved_); }  // 0: the global setting

}  // namespace torchclad::blas
