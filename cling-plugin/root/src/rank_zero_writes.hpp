#pragma once
// Files that a data-parallel run writes once (torchclad/distributed.h):
// rank 0 writes, every rank returns when the file is there or throws when
// rank 0 could not write it, so a rank may read the file right after (on a
// file system the ranks share).
#include <functional>

namespace torchclad {

// Runs write() on rank 0 only; a collective: every rank calls it. Rank 0's
// exception is rethrown there; the other ranks throw a std::runtime_error
// with rank 0's message. In a single process it is write().
void rank_zero_writes(const std::function<void()>& write);

}  // namespace torchclad
