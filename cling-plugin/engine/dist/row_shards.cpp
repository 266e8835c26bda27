#include "dist/row_shards.hpp"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cstring>

#include "dist/communicator.hpp"

namespace torchclad::dist {
namespace {

// The rank whose part of `count` (split as share_of splits it) holds `index`:
// the largest q with floor(q count / N) <= index.
int part_holding(int64_t index, int64_t count, int ranks) {
  return static_cast<int>(((index + 1) * ranks - 1) / count);
}

}  // namespace

int shard_owner(int64_t row, int64_t n, int ranks) { return part_holding(row, n, ranks); }

ShardExchange::ShardExchange(const float* x, int64_t x_width, const float* y, int64_t y_width, int64_t n,
                             int64_t global_batch)
    : x_(x),
      y_(y),
      x_width_(x_width),
      y_width_(y_width),
      width_(x_width + y_width),
      n_(n),
      global_batch_(global_batch),
      rank_(world().rank()),
      ranks_(world().size()),
      shard_(shard_of(n, rank_, ranks_)) {
  TORCH_CHECK(n >= ranks_ && global_batch >= ranks_,
              "a sharded training set needs at least one row per rank");
}

void ShardExchange::gather_epoch(const std::function<int64_t(int64_t)>& row_at, int64_t round_rows) {
  const int N = ranks_;
  // How many positions each rank trains on this epoch (its shares of every step).
  std::vector<int64_t> length(N, 0);
  for (int64_t start = 0; start < n_; start += global_batch_) {
    const int64_t m = std::min(global_batch_, n_ - start);
    for (int q = 0; q < N; ++q) length[q] += share_of(m, q, N).size();
  }
  const int64_t longest = *std::max_element(length.begin(), length.end());
  int64_t per_round = round_rows;
  if (per_round <= 0)
    per_round =
        std::clamp<int64_t>((longest + 3) / 4, 1, std::max<int64_t>(1, (int64_t{64} << 20) / (4 * width_)));
  rounds_ = static_cast<int>((longest + per_round - 1) / per_round);
  const int R = rounds_;

  // Every position once, in order: its rank (the share it falls in), its
  // index among that rank's positions (which sets the round), its row's holder.
  struct Send {
    int64_t local_row;
    int to, round;
  };
  std::vector<Send> sends;
  std::vector<int> holder;
  std::vector<int> send_rows(size_t(R) * N, 0), recv_rows(size_t(R) * N, 0);
  std::vector<int64_t> index(N, 0);
  positions_.clear();
  sends.reserve(static_cast<size_t>(shard_.size()));
  for (int64_t p = 0; p < n_; ++p) {
    const int64_t step_start = p / global_batch_ * global_batch_;
    const int q = part_holding(p - step_start, std::min(global_batch_, n_ - step_start), N);
    const int round = static_cast<int>(index[q]++ / per_round);
    const int64_t row = row_at(p);
    TORCH_CHECK(row >= 0 && row < n_, "row ", row, " at position ", p, " is outside the ", n_, " rows");
    const int h = shard_owner(row, n_, N);
    if (h == rank_) {
      sends.push_back({row - shard_.begin, q, round});
      ++send_rows[size_t(round) * N + q];
    }
    if (q == rank_) {
      positions_.push_back(p);
      holder.push_back(h);
      ++recv_rows[size_t(round) * N + h];
    }
  }

  // The epoch's rows land round by round, within a round grouped by sender.
  std::vector<int64_t> round_base(R + 1, 0), from(size_t(R) * N, 0);
  for (int r = 0; r < R; ++r) {
    int64_t at = round_base[r];
    for (int h = 0; h < N; ++h) from[size_t(r) * N + h] = at, at += recv_rows[size_t(r) * N + h];
    round_base[r + 1] = at;
  }
  slot_.resize(positions_.size());
  received_ = 0;
  for (size_t k = 0; k < positions_.size(); ++k) {
    slot_[k] = from[size_t(k / per_round) * N + holder[k]]++;
    if (holder[k] != rank_) ++received_;
  }
  epoch_.assign(static_cast<size_t>(positions_.size() * width_), 0.0f);

  std::vector<float> buffer;
  sent_ = 0;
  for (int r = 0; r < R; ++r) {
    const int* counts = send_rows.data() + size_t(r) * N;
    std::vector<int64_t> to(N, 0);
    for (int q = 1; q < N; ++q) to[q] = to[q - 1] + counts[q - 1];
    buffer.resize(static_cast<size_t>((to[N - 1] + counts[N - 1]) * width_));
    for (const auto& s : sends) {
      if (s.round != r) continue;
      float* d = buffer.data() + to[s.to]++ * width_;
      std::memcpy(d, x_ + s.local_row * x_width_, sizeof(float) * x_width_);
      std::memcpy(d + x_width_, y_ + s.local_row * y_width_, sizeof(float) * y_width_);
      if (s.to != rank_) ++sent_;
    }
    world().alltoallv(buffer.data(), counts, epoch_.data() + round_base[r] * width_,
                      recv_rows.data() + size_t(r) * N, static_cast<int>(width_));
  }
}

const float* ShardExchange::row_at_position(int64_t position) const {
  const auto it = std::lower_bound(positions_.begin(), positions_.end(), position);
  TORCH_CHECK(it != positions_.end() && *it == position, "position ", position,
              " is not one of this rank's positions of the epoch");
  return epoch_.data() + slot_[it - positions_.begin()] * width_;
}

}  // namespace torchclad::dist
