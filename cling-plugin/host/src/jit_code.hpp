#pragma once
// Where the code compiled from cells lives: cling's JIT puts it in
// executable anonymous mappings (no file behind them), read here from
// /proc/self/maps with syscalls only, so that the crash handler can call it.
#include <cstdint>

namespace host {

struct AddressRange {
  std::uintptr_t begin, end;
};

// Fills out[0..cap) with the executable anonymous mappings; returns how many.
int read_jit_ranges(AddressRange* out, int cap);

}  // namespace host
