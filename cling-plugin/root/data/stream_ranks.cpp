#include "data/stream_ranks.hpp"

#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "dist/row_shards.hpp"

namespace torchclad::rootdata {

std::unique_ptr<ColumnStream> rank_part(const ColumnStream& whole, const std::string& where, int rank,
                                        int ranks) {
  const auto mine = dist::shard_of(whole.entries(), rank, ranks);
  auto part = whole.spec();
  // The ranks' shares of the entries the stream keeps (all, or a split's
  // part): rank r's range runs from its first kept entry to rank r + 1's,
  // with the same holdout, so it keeps exactly its share.
  part.first_entry = whole.entry_of(mine.begin);
  part.max_entries = whole.entry_of(mine.begin + mine.size()) - part.first_entry;
  part.part = rank;  // a shuffle of its own
  return std::make_unique<ColumnStream>(part, where);
}

std::unique_ptr<ColumnStream> rank_part(const ColumnStream& whole, const std::string& where) {
  dist::check_samples(whole.entries(), "stream entries");
  return rank_part(whole, where, dist::world().rank(), dist::world().size());
}

}  // namespace torchclad::rootdata
