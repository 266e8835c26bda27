#include "stack_scan.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include <vector>

#include "jit_code.hpp"

namespace host {
namespace {

constexpr int kMaxRanges = 128;
AddressRange g_unsafe[kMaxRanges];
std::atomic<int> g_unsafe_count{0};
std::vector<std::string> g_extra_unsafe;  // --no-jump-library
std::uintptr_t g_landing_frame = 0;
std::atomic<std::uintptr_t> g_unsafe_hit{0}, g_unsafe_hit_offset{0};
const std::uintptr_t g_page_size = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));

const AddressRange* range_of(std::uintptr_t address, const AddressRange* ranges, int n) {
  for (int i = 0; i < n; ++i)
    if (address >= ranges[i].begin && address < ranges[i].end) return &ranges[i];
  return nullptr;
}

// A return address follows a call instruction. The stack also holds stale
// words (uninitialised slots, cling's symbol lookups while it compiled the
// cell) that point into LibTorch's 290 MB of code; most are not preceded by
// a call, and are not taken for live frames.
bool follows_a_call(std::uintptr_t address, const AddressRange& range) {
#if defined(__x86_64__)
  if (address - range.begin < 7) return true;  // cannot look: assume it is
  const auto* code = reinterpret_cast<const unsigned char*>(address);
  if (code[-5] == 0xE8) return true;  // call rel32
  // call r/m64: FF /2, 2 to 7 bytes long with its ModRM, SIB and displacement
  for (int length = 2; length <= 7; ++length)
    if (code[-length] == 0xFF && ((code[-length + 1] >> 3) & 7) == 2) return true;
  return false;
#elif defined(__aarch64__)
  if (address - range.begin < 4) return true;
  const std::uint32_t insn = *reinterpret_cast<const std::uint32_t*>(address - 4);
  return (insn & 0xFC000000u) == 0x94000000u ||  // bl
         (insn & 0xFFFFFC1Fu) == 0xD63F0000u;    // blr
#else
  return true;
#endif
}

bool interrupted_pc_and_sp(void* context, std::uintptr_t* pc, std::uintptr_t* sp) {
  auto* uc = static_cast<ucontext_t*>(context);
  if (!uc) return false;
#if defined(__x86_64__)
  *pc = static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
  *sp = static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RSP]);
  return true;
#elif defined(__aarch64__)
  *pc = static_cast<std::uintptr_t>(uc->uc_mcontext.pc);
  *sp = static_cast<std::uintptr_t>(uc->uc_mcontext.sp);
  return true;
#else
  return false;
#endif
}

// The first return address into one of the ranges on the stack between sp
// and the landing frame; 0 if none. *offset: its distance from sp.
std::uintptr_t find_return_address(std::uintptr_t sp, const AddressRange* ranges, int n,
                                   std::uintptr_t* offset) {
  std::uintptr_t mapped_page = 0;  // the last page checked to be mapped
  for (std::uintptr_t at = sp & ~std::uintptr_t{7}; at < g_landing_frame; at += sizeof(std::uintptr_t)) {
    // After a stack overflow, sp points below the mapped stack: reading
    // there would fault inside the handler. Unmapped pages hold no frames.
    const std::uintptr_t page = at & ~(g_page_size - 1);
    if (page != mapped_page) {
      unsigned char resident;
      if (::mincore(reinterpret_cast<void*>(page), g_page_size, &resident) != 0) {
        at = page + g_page_size - sizeof(std::uintptr_t);
        continue;
      }
      mapped_page = page;
    }
    const std::uintptr_t word = *reinterpret_cast<const std::uintptr_t*>(at);
    const AddressRange* range = range_of(word, ranges, n);
    if (range && follows_a_call(word, *range)) {
      *offset = at - sp;
      return word;
    }
  }
  return 0;
}

// The lowest address the cell thread's stack may reach, once known (set
// before the first cell by scrub_stack_below; read by handlers).
std::atomic<std::uintptr_t> g_stack_floor{0};

// A scan covers at most the cell thread's whole stack (an overflow ends at
// its floor), and at least 64 MiB; never more than 1 GiB, which a handler
// still reads in well under a second.
bool scan_bounds_ok(std::uintptr_t sp) {
  if (sp >= g_landing_frame) return false;
  const std::uintptr_t floor = g_stack_floor.load(std::memory_order_relaxed);
  std::uintptr_t limit = std::uintptr_t{64} << 20;
  if (floor && floor < g_landing_frame) limit = std::max(limit, g_landing_frame - floor + (1u << 20));
  return g_landing_frame - sp <= std::min(limit, std::uintptr_t{1} << 30);
}

int collect_unsafe_range(dl_phdr_info* info, std::size_t, void* out) {
  static const char* const kUnsafe[] = {
      "libtorch_cpu.so", "libtorch.so", "libc10.so", "libtorchclad.so", "libtorchclad_root.so",
      "libgomp",         "libiomp",     "libtbb",    "libImt.so"};
  const char* name = info->dlpi_name ? info->dlpi_name : "";
  const char* base = std::strrchr(name, '/');
  base = base ? base + 1 : name;
  bool unsafe = false;
  for (const char* u : kUnsafe) unsafe = unsafe || std::strncmp(base, u, std::strlen(u)) == 0;
  for (const std::string& u : g_extra_unsafe) unsafe = unsafe || std::strncmp(base, u.c_str(), u.size()) == 0;
  if (!unsafe) return 0;
  auto* ranges = static_cast<std::vector<AddressRange>*>(out);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
      ranges->push_back({info->dlpi_addr + ph.p_vaddr, info->dlpi_addr + ph.p_vaddr + ph.p_memsz});
  }
  return 0;
}

}  // namespace

void set_landing_frame(const void* frame) { g_landing_frame = reinterpret_cast<std::uintptr_t>(frame); }

namespace {

// The lowest address this thread's stack may reach (0: unknown).
std::uintptr_t stack_floor() {
  static thread_local std::uintptr_t floor = [] {
    pthread_attr_t attr;
    void* low = nullptr;
    std::size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return std::uintptr_t{0};
    const bool known = pthread_attr_getstack(&attr, &low, &size) == 0;
    pthread_attr_destroy(&attr);
    return known ? reinterpret_cast<std::uintptr_t>(low) : std::uintptr_t{0};
  }();
  g_stack_floor.store(floor);
  return floor;
}

// Below the zeroed area, deep cells of the past (a recursion, a large local
// array, a deep call into LibTorch) left words too: a stack overflow walks
// all of that again, and a stale return address into LibTorch would read as
// a live frame and cost the session. Giving those pages back to the kernel
// turns them into zero pages (no word of the past is left to read), and
// pages never touched since cost nothing here.
bool page_mapped(std::uintptr_t page) {
  unsigned char resident;
  return ::mincore(reinterpret_cast<void*>(page), g_page_size, &resident) == 0;
}

// The lowest mapped page of the stack between floor and `high` (mapped).
// The main thread's stack is mapped only as deep as it has grown: found by
// bisection once, then again only when it grew (its mapping never shrinks).
std::uintptr_t lowest_mapped_page(std::uintptr_t floor, std::uintptr_t high) {
  static thread_local std::uintptr_t known_low = 0;
  if (known_low > floor && known_low <= high && !page_mapped(known_low - g_page_size)) return known_low;
  std::uintptr_t low = floor;
  if (!page_mapped(low)) {
    if (known_low > floor && known_low <= high) high = known_low;
    while (high - low > g_page_size) {
      const std::uintptr_t middle = low + ((high - low) / 2 & ~(g_page_size - 1));
      (page_mapped(middle) ? high : low) = middle;
    }
    low = high;
  }
  known_low = low;
  return low;
}

void release_stack_below(std::uintptr_t below) {  // below: well under the caller's frames
  const std::uintptr_t floor = stack_floor();
  const std::uintptr_t end = below & ~(g_page_size - 1);
  if (!floor || end <= floor) return;
  // An unlimited stack (ulimit -s unlimited) reaches far down: the 1 GiB
  // the crash scan covers is what matters.
  const std::uintptr_t bottom = std::max(floor, end - std::min(end, std::uintptr_t{1} << 30));
  if (!page_mapped(end - g_page_size)) return;  // the stack never went deeper
  // madvise refuses (ENOMEM) a range with unmapped pages in it, and each
  // call costs tens of microseconds even on pages given back before: only
  // the pages touched since (resident ones) are given back.
  const std::uintptr_t low = lowest_mapped_page(bottom, end - g_page_size);
  static thread_local std::vector<unsigned char> resident;
  resident.resize((end - low) / g_page_size);
  if (::mincore(reinterpret_cast<void*>(low), end - low, resident.data()) != 0) return;
  std::size_t first = resident.size(), last = 0;
  for (std::size_t i = 0; i < resident.size(); ++i)
    if (resident[i] & 1) {
      first = std::min(first, i);
      last = i;
    }
  if (first > last) return;
  ::madvise(reinterpret_cast<void*>(low + first * g_page_size), (last - first + 1) * g_page_size,
            MADV_DONTNEED);
}

}  // namespace

// Zeroes [p, p + n) with non-temporal stores, which bypass the caches: a
// memset of the 1 MiB evicted half of the L2 just before cling compiled the
// cell, and in the kernel that made the compile slower (10 alternating
// pairs of kernels, 300 cells each: `int x = 1;` 2.54 ms against 2.97 ms,
// median of the kernels' medians; ProcessLine 1.11 against 1.28 ms).
// Unaligned ends with memset; elsewhere than x86 (aarch64), memset.
static void zero_uncached(char* p, std::size_t n) {
#if defined(__SSE2__)
  const std::size_t head = std::min(n, (16 - reinterpret_cast<std::uintptr_t>(p) % 16) % 16);
  std::memset(p, 0, head);
  std::size_t i = head;
  const __m128i zero = _mm_setzero_si128();
  for (; i + 16 <= n; i += 16) _mm_stream_si128(reinterpret_cast<__m128i*>(p + i), zero);
  std::memset(p + i, 0, n - i);
  _mm_sfence();  // the stores are visible before the cell runs (and a handler reads the stack)
#else
  std::memset(p, 0, n);
#endif
}

__attribute__((noinline)) void scrub_stack_below(std::size_t bytes) {
  // Below `released` the pages are handed back, above it they are zeroed.
  // Handed back first, while the calls made for it (their frames a few
  // hundred bytes down) are far above `released`; the zeroing then leaves
  // those pages untouched, so that they stay given back until a cell goes
  // that deep again.
  const auto frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  const std::uintptr_t released = (frame - bytes + g_page_size - 1) & ~(g_page_size - 1);
  release_stack_below(released);
  char* area = static_cast<char*>(__builtin_alloca(bytes));
  const std::size_t skip =
      std::min<std::size_t>(bytes, released > reinterpret_cast<std::uintptr_t>(area)
                                       ? released - reinterpret_cast<std::uintptr_t>(area)
                                       : 0);
  // Top down, page by page: the main thread's stack grows as it is touched.
  for (std::size_t left = bytes; left > skip;) {
    const std::size_t chunk = std::min<std::size_t>(left - skip, 4096);
    left -= chunk;
    zero_uncached(area + left, chunk);
  }
  asm volatile("" : : "r"(area) : "memory");
}

namespace {

// The loader's counts of loads and unloads when the ranges were collected:
// while they stand, no library came or went and the ranges are current.
struct Collection {
  std::vector<AddressRange> ranges;
  unsigned long long adds = 0, subs = 0;
  bool unchanged = false, first = true, counted = false;
};
unsigned long long g_collected_adds = 0, g_collected_subs = 0;
bool g_collected = false;

int collect_if_changed(dl_phdr_info* info, std::size_t size, void* out) {
  auto* c = static_cast<Collection*>(out);
  if (c->first) {
    c->first = false;
    if (size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
      c->counted = true;
      c->adds = info->dlpi_adds;
      c->subs = info->dlpi_subs;
      if (g_collected && c->adds == g_collected_adds && c->subs == g_collected_subs) {
        c->unchanged = true;
        return 1;  // stop: nothing to collect
      }
    }
  }
  return collect_unsafe_range(info, size, &c->ranges);
}

}  // namespace

void refresh_unsafe_code_ranges() {
  // Walking every library (ROOT and LibTorch load hundreds) each cell cost
  // tens of microseconds; only a cell that loaded or unloaded one needs it.
  Collection collection;
  dl_iterate_phdr(collect_if_changed, &collection);
  if (collection.unchanged) return;
  g_collected = collection.counted;
  g_collected_adds = collection.adds;
  g_collected_subs = collection.subs;
  std::vector<AddressRange>& ranges = collection.ranges;
  g_unsafe_count.store(0);
  const int n = static_cast<int>(std::min<std::size_t>(ranges.size(), kMaxRanges));
  for (int i = 0; i < n; ++i) g_unsafe[i] = ranges[i];
  g_unsafe_count.store(n);
}

void add_unsafe_library(const std::string& name_prefix) {
  g_extra_unsafe.push_back(name_prefix);
  g_collected = false;  // collect again, with this name
}

bool stack_scannable(void* context) {
  std::uintptr_t pc = 0, sp = 0;
  if (!interrupted_pc_and_sp(context, &pc, &sp)) return context == nullptr;
  return !g_landing_frame || scan_bounds_ok(sp);
}

bool stack_mentions_unsafe_code(void* context) {
  std::uintptr_t pc = 0, sp = 0;
  if (!interrupted_pc_and_sp(context, &pc, &sp))
    return context != nullptr;  // unknown architecture: never jump
  g_unsafe_hit = 0;
  g_unsafe_hit_offset = 0;
  if (!g_landing_frame) return false;
  const int n = g_unsafe_count.load(std::memory_order_relaxed);
  if (range_of(pc, g_unsafe, n)) {
    g_unsafe_hit = pc;
    g_unsafe_hit_offset = kInterruptedInstruction;
    return true;
  }
  if (!scan_bounds_ok(sp)) return true;
  std::uintptr_t offset = 0;
  if (const std::uintptr_t hit = find_return_address(sp, g_unsafe, n, &offset)) {
    g_unsafe_hit = hit;
    g_unsafe_hit_offset = offset;
    return true;
  }
  return false;
}

std::uintptr_t last_unsafe_return_address(std::uintptr_t* offset_from_sp) {
  *offset_from_sp = g_unsafe_hit_offset.load();
  return g_unsafe_hit.load();
}

std::string last_unsafe_frame() {
  const std::uintptr_t hit = g_unsafe_hit.load();
  if (!hit) return "";
  char where[64];
  std::snprintf(where, sizeof where, "%#lx", static_cast<unsigned long>(hit));
  std::string text = where;
  Dl_info dl;
  if (dladdr(reinterpret_cast<void*>(hit), &dl) && dl.dli_fname) {
    text += std::string(" in ") + dl.dli_fname;
    if (dl.dli_sname) text += std::string(" (") + dl.dli_sname + ")";
  }
  const std::uintptr_t offset = g_unsafe_hit_offset.load();
  return text + (offset == kInterruptedInstruction ? " (the interrupted instruction)"
                                                   : " at sp+" + std::to_string(offset));
}

bool cell_code_on_stack(void* context) {
  static AddressRange jit[256];  // handler-only; one cell thread
  std::uintptr_t pc = 0, sp = 0;
  if (!interrupted_pc_and_sp(context, &pc, &sp) || !g_landing_frame) return false;
  const int n = read_jit_ranges(jit, 256);
  if (range_of(pc, jit, n)) return true;
  std::uintptr_t offset = 0;
  return scan_bounds_ok(sp) && find_return_address(sp, jit, n, &offset) != 0;
}

}  // namespace host
