#pragma once
// The training entries a trainer's rank reads from a ROOT tree: the first
// --train-limit entries (all with 0), and this rank's shard of them (every
// rank reads its own rows only, dist/row_shards.hpp).
#include <algorithm>
#include <stdexcept>
#include <string>

#include "data/tree_dataset.hpp"
#include "dist/communicator.hpp"
#include "dist/row_shards.hpp"

namespace torchclad::cli {

struct TrainingShard {
  long long used = 0;  // entries trained on, over all ranks
  dist::Share rows;    // this rank's [begin, end) of them
};

// Throws when a rank would get no entry. command names the reader in errors.
inline TrainingShard training_shard(const std::string& command, const std::string& file,
                                    const std::string& tree, long long train_limit) {
  const long long entries = rootdata::tree_entry_count(command, file, tree);
  const long long n = train_limit > 0 ? std::min(train_limit, entries) : entries;
  const int ranks = dist::world().size();
  if (n < ranks)
    throw std::runtime_error(std::to_string(ranks) + " ranks but only " + std::to_string(n) +
                             " training samples: some rank would have no data; run at most " +
                             std::to_string(n) + " ranks");
  return {n, dist::shard_of(n, dist::world().rank(), ranks)};
}

}  // namespace torchclad::cli
