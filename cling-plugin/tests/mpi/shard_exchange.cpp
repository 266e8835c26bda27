// torchclad-test-shard-exchange: dist::ShardExchange under mpirun. Each rank
// holds only its shard of n rows (row i's values name i), and per epoch
// fetches the rows of its positions of a shuffle, or of a draw with
// repeats (weighted sampling's); every position's row must be the one the
// order names, the ranks' positions must cover the epoch once, and each rank
// must hold its shard plus its positions' rows, nothing more. Sizes not
// divisible by ranks x batch, and exchanges in one round and in many.
// Prints "shard exchange: ..." on rank 0 when every check passed on every rank.
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "dist/mpi_world.hpp"
#include "dist/row_shards.hpp"

namespace {

using namespace torchclad;

// Failures seen on this rank (each printed).
int failures = 0;
void expect(bool ok, const std::string& what) {
  if (ok) return;
  ++failures;
  std::fprintf(stderr, "shard exchange (%s): %s\n", dist::rank_label().c_str(), what.c_str());
}

void run(int64_t n, int64_t batch, int64_t round_rows, bool draws) {
  const int rank = dist::world().rank(), ranks = dist::world().size();
  const auto shard = dist::shard_of(n, rank, ranks);
  const int64_t xw = 3, yw = 1, G = batch * ranks;
  std::vector<float> x(shard.size() * xw), y(shard.size() * yw);
  for (int64_t i = 0; i < shard.size(); ++i) {  // the row's values name it
    const float row = static_cast<float>(shard.begin + i);
    x[i * xw] = row, x[i * xw + 1] = 2 * row, x[i * xw + 2] = -row, y[i] = row + 0.5f;
  }
  dist::ShardExchange exchange(x.data(), xw, y.data(), yw, n, G);
  const std::string name = "n " + std::to_string(n) + ", batch " + std::to_string(batch) + ", rounds of " +
                           std::to_string(round_rows) + (draws ? ", draws" : ", shuffle");
  for (int epoch = 1; epoch <= 3; ++epoch) {
    std::vector<int64_t> order(n), drawn(n);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(1000 + epoch);  // alike on every rank
    std::shuffle(order.begin(), order.end(), rng);
    for (auto& d : drawn) d = static_cast<int64_t>(rng() % uint64_t(n / 3 + 1));  // many repeats
    const auto row_at = [&](int64_t p) { return draws ? drawn[order[p]] : order[p]; };
    exchange.gather_epoch(row_at, round_rows);
    int64_t mine = 0;
    for (int64_t start = 0; start < n; start += G) {  // the steps of run_loop.cpp
      const auto share = dist::share_of(std::min(G, n - start), rank, ranks);
      for (int64_t p = start + share.begin; p < start + share.end; ++p, ++mine) {
        const float* r = exchange.row_at_position(p);
        const float want = static_cast<float>(row_at(p));
        if (r[0] != want || r[1] != 2 * want || r[2] != -want || r[3] != want + 0.5f) {
          expect(false, name + ", epoch " + std::to_string(epoch) + ": position " + std::to_string(p) +
                            " holds row " + std::to_string(r[0]) + ", expected " + std::to_string(want));
          break;
        }
      }
    }
    expect(exchange.epoch_rows() == mine, name + ": " + std::to_string(exchange.epoch_rows()) +
                                              " rows gathered for " + std::to_string(mine) + " positions");
    expect(exchange.shard_rows() == shard.size(),
           name + ": the shard holds " + std::to_string(exchange.shard_rows()) + " rows");
    double total[2] = {double(exchange.epoch_rows()),
                       double(exchange.rows_sent() - exchange.rows_received())};
    dist::world().allreduce_sum(total, 2);
    expect(total[0] == n,
           name + ": the ranks' positions cover " + std::to_string(total[0]) + " of " + std::to_string(n));
    expect(total[1] == 0, name + ": rows sent and received differ by " + std::to_string(total[1]));
    if (round_rows > 0)
      expect(exchange.rounds() >= (mine + round_rows - 1) / round_rows,
             name + ": " + std::to_string(exchange.rounds()) + " rounds");
  }
}

}  // namespace

int main(int argc, char** argv) {
  dist::MpiSession mpi(&argc, &argv);
  try {
    for (int64_t n : {101, 64, 13})
      for (int64_t batch : {1, 4, 8})
        for (int64_t rounds : {0, 1, 5})
          for (bool draws : {false, true})
            if (n >= dist::world().size()) run(n, batch, rounds, draws);
  } catch (const std::exception& e) {
    expect(false, e.what());
  }
  double bad = failures;
  dist::world().allreduce_sum(&bad, 1);
  if (bad > 0) return mpi.fail(), 1;
  if (dist::is_root())
    std::printf("shard exchange: every position's row matches on %d rank(s)\n", dist::world().size());
  return 0;
}
