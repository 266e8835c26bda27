#pragma once
// Reading the cell thread's stack from a signal handler (async-signal-safe):
// which code is on it between the interrupted point and the frame that
// called ProcessLine (the landing frame). A word counts as a frame when it
// points into code just after a call instruction, i.e. is a return address.
#include <cstddef>
#include <cstdint>
#include <string>

namespace host {

// The frame that called ProcessLine: the scan's upper end.
void set_landing_frame(const void* frame);
// Zeroes `bytes` of stack below the caller's frame, and hands the pages of
// the stack below those back to the kernel: return addresses left there by
// earlier cells would read as live frames.
void scrub_stack_below(std::size_t bytes);

// Libraries never jumped out of (LibTorch, the engine, OpenMP/TBB pools,
// ROOT's libImt): they hand pointers into the caller's stack to worker
// threads or hold locks of their own. Their code ranges, refreshed before
// each cell; one more with add_unsafe_library (file name prefix).
void refresh_unsafe_code_ranges();
void add_unsafe_library(const std::string& name_prefix);

// False if the interrupted thread's stack reaches further below the landing
// frame than a scan covers (the thread's whole stack, at most 1 GiB), or
// lies above it; true on an architecture the scan does not know.
bool stack_scannable(void* context);
// True if the interrupted thread (its ucontext_t) is in, or was called from,
// such a library; also true on an architecture the scan does not know, and
// when the stack is not scannable.
bool stack_mentions_unsafe_code(void* context);
// The return address into unsafe code that the last scan found (0: none)
// and its distance from the interrupted sp; async-signal-safe.
std::uintptr_t last_unsafe_return_address(std::uintptr_t* offset_from_sp);
// The offset given when the interrupted instruction itself was in such code.
constexpr std::uintptr_t kInterruptedInstruction = ~std::uintptr_t{0};
// The same as text, with its library and symbol (debug; allocates).
std::string last_unsafe_frame();

// True if the interrupted pc, or a return address on the stack, is in code
// compiled from cells (jit_code.hpp).
bool cell_code_on_stack(void* context);

}  // namespace host
