#pragma once
// A stream's entries under several ranks (dist::world()): rank r of N
// streams entries [floor(r n / N), floor((r + 1) n / N)) of the stream's n
// (dist/row_shards.hpp's rule), each rank through its own chunk order and
// shuffle buffer, seeded by (seed, epoch, rank) (StreamSpec::part), so the
// ranks' shuffles are independent; the run is fixed by the seed and the
// number of ranks, and each entry is read once per epoch. For a split's part
// (StreamSpec::holdout), n counts the part's entries: each rank streams its
// share of them. Model::fit on a
// StreamDataset and torchclad-train --stream train on these parts.
#include <memory>
#include <string>

#include "data/stream_reader.hpp"

namespace torchclad::rootdata {

// This rank's entries of `whole` as a stream of their own (the same files,
// columns and options; entries() is the part's count, `where` names it in
// errors). Collective: the ranks first check that they stream the same n
// entries and that n >= ranks (else an error on every rank).
std::unique_ptr<ColumnStream> rank_part(const ColumnStream& whole, const std::string& where);
// Rank `rank` of `ranks`'s part, computed locally (no communication).
std::unique_ptr<ColumnStream> rank_part(const ColumnStream& whole, const std::string& where, int rank,
                                        int ranks);

}  // namespace torchclad::rootdata
