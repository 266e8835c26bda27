// The host's malloc family: glibc's own functions, with a per-thread depth
// counter around each call. The forced interrupt and crash recovery (cell_jump.cpp) never jump
// out of a thread that is inside the allocator, which would leave glibc's
// arena lock held and deadlock the next allocation.
#include <cerrno>
#include <cstddef>

extern "C" {
void* __libc_malloc(std::size_t);
void __libc_free(void*);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void* __libc_valloc(std::size_t);
void* __libc_pvalloc(std::size_t);
}

namespace host {
__thread int g_in_allocator = 0;
}

namespace {
struct Guard {
  Guard() { ++host::g_in_allocator; }
  ~Guard() { --host::g_in_allocator; }
};
}  // namespace

extern "C" {

void* malloc(std::size_t n) {
  Guard g;
  return __libc_malloc(n);
}
void free(void* p) {
  Guard g;
  __libc_free(p);
}
void* calloc(std::size_t n, std::size_t size) {
  Guard g;
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) {
  Guard g;
  return __libc_realloc(p, n);
}
void* memalign(std::size_t alignment, std::size_t n) {
  Guard g;
  return __libc_memalign(alignment, n);
}
void* aligned_alloc(std::size_t alignment, std::size_t n) {
  Guard g;
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t n) {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0) return EINVAL;
  Guard g;
  void* p = __libc_memalign(alignment, n);
  if (!p && n != 0) return ENOMEM;
  *out = p;
  return 0;
}
void* valloc(std::size_t n) {
  Guard g;
  return __libc_valloc(n);
}
void* pvalloc(std::size_t n) {
  Guard g;
  return __libc_pvalloc(n);
}

}  // extern "C"
