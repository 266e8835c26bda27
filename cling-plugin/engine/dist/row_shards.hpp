#pragma once
// Training rows sharded over the ranks (dist/data_parallel.hpp has the rule
// of the steps): rank r of N holds rows [floor(r n / N), floor((r + 1) n / N))
// of the n training rows, read from the file by itself, and nothing else.
// Over an epoch it trains on the positions of its shares of the global
// permutation, which hold rows of every rank; at the epoch's start the ranks
// exchange exactly those rows (ShardExchange::gather_epoch, a few
// MPI_Alltoallv of bounded size: every rank knows the permutation, so each
// knows what to send where). So N ranks still take the steps of one process
// with batch N B, holding about 2 n / N rows each instead of n.
#include <cstdint>
#include <functional>
#include <vector>

#include "dist/data_parallel.hpp"

namespace torchclad::dist {

// The rows [begin, end) of n that rank `rank` of `ranks` holds.
inline Share shard_of(int64_t n, int rank, int ranks) { return share_of(n, rank, ranks); }
// The rank whose shard holds row `row` of n.
int shard_owner(int64_t row, int64_t n, int ranks);

class ShardExchange {
 public:
  // This rank's shard: rows [shard.begin, shard.end) of n, row i of x
  // (x_width floats) and y (y_width floats) holding row shard.begin + i;
  // x and y must outlive the exchange. global_batch: ranks x local batch.
  ShardExchange(const float* x, int64_t x_width, const float* y, int64_t y_width, int64_t n,
                int64_t global_batch);

  // Collective (every rank, at the same step): fetches the rows of this
  // rank's positions of the epoch; row_at(p) is the row (0..n-1) at
  // position p of the epoch's order, alike on every rank. rounds_rows:
  // rows per receiving rank per round (0: the default, a quarter of the
  // epoch's largest share, capped at 64 MiB of rows), to bound the send buffer.
  void gather_epoch(const std::function<int64_t(int64_t)>& row_at, int64_t round_rows = 0);

  // x (then y right after it) of the row at `position`, one of this rank's
  // positions of the epoch gathered last.
  const float* row_at_position(int64_t position) const;
  int64_t row_floats() const { return width_; }

  // Rows held now: the shard and the epoch's gathered rows.
  int64_t shard_rows() const { return shard_.size(); }
  int64_t epoch_rows() const { return static_cast<int64_t>(positions_.size()); }
  // Rows sent to and received from other ranks by the last gather_epoch.
  int64_t rows_sent() const { return sent_; }
  int64_t rows_received() const { return received_; }
  int rounds() const { return rounds_; }

 private:
  const float *x_, *y_;
  int64_t x_width_, y_width_, width_, n_, global_batch_;
  int rank_, ranks_;
  Share shard_;
  std::vector<int64_t> positions_;  // this rank's positions of the epoch, ascending
  std::vector<int64_t> slot_;       // of each: its row in epoch_
  std::vector<float> epoch_;
  int64_t sent_ = 0, received_ = 0;
  int rounds_ = 0;
};

}  // namespace torchclad::dist
