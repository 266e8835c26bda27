#pragma once
// Counts heap allocations (malloc, calloc, realloc, posix_memalign,
// aligned_alloc, memalign, and so operator new) made by any code in the
// process, including LibTorch and its BLAS, while a scope is open. Link
// torchclad_alloc_counter into an executable: its malloc family interposes
// glibc's and forwards to it.
#include <cstdint>

namespace torchclad::support {

class AllocationCounter {
 public:
  AllocationCounter();   // starts counting (scopes do not nest)
  ~AllocationCounter();  // stops counting
  int64_t count() const;
};

}  // namespace torchclad::support
