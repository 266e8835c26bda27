#include "data/stream_ranks.hpp"

#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "dist/row_shards.hpp"

namespace torchclad::rootdata {

std::unique_ptr<ColumnStream> rank_part(const ColumnStream& whole, const std::string& where) {
  dist::check_samples(whole.entries(), "stream entries");
  const auto mine = dist::shard_of(whole.entries(), dist::world().rank(), dist::world().size());
  auto part = whole.spec();
  part.first_entry = whole.spec().first_entry + mine.begin;
  part.max_entries = mine.size();
  part.part = dist::world().rank();  // a shuffle of its own
  return std::make_unique<ColumnStream>(part, where);
}

}  // namespace torchclad::rootdata
