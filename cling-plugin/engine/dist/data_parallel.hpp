#pragma once
// Data-parallel training over the ranks of dist::world() (communicator.hpp).
//
// The rule: every rank shuffles the same permutation of the n training
// samples (seeded by (seed, epoch), as one process does), and global step s
// covers positions [s G, min((s + 1) G, n)) of it, G = ranks x local batch:
// the global batch. Of a global batch of m samples, rank r takes positions
// [floor(r m / N), floor((r + 1) m / N)): exactly the local batch each while
// m = G; in the last, partial global batch (n not divisible by G) the shares
// differ by at most one sample, and a rank whose share is empty (m < N) adds a
// zero gradient. Each rank's loss is the mean over its share; its gradient is
// scaled by share / m and the ranks' gradients summed in place (one
// MPI_Allreduce over the flat buffer), which is the gradient of the mean
// loss over the global batch: N ranks with local batch B take the steps of
// one process with batch N B, so the learning rate is the one for batch N B.
// The rows of a position need not be on the rank that trains on it: with
// sharded rows (dist/row_shards.hpp) the ranks exchange them per epoch.
#include <cstdint>
#include <exception>
#include <string>

namespace torchclad::dist {

// Positions [begin, end) of a global batch of m samples that rank r of N takes.
struct Share {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};
Share share_of(int64_t m, int rank, int ranks);

// The share of the current step (set by the epoch loop before each step):
// local samples of this rank, and the global batch.
void set_step_share(int64_t local, int64_t global);
// Whether this rank has a stop request for the current step (set by the
// epoch loop before each step): average_gradients(g, n, loss) carries it.
// So a request that arrives while step k runs is carried by step k + 1 and
// the ranks stop before step k + 2 (one step later than an agreement after
// the step would, for one collective per step).
void set_step_stop_request(bool stop);

// The gradient of the global batch's mean loss, in place on every rank:
// g times local / global (zero for an empty share, whatever g held), summed
// over the ranks. Nothing happens in a single process.
void average_gradients(float* g, int64_t n);

// Floats a gradient buffer holds past its n gradients for the overload below.
constexpr int64_t kStepTail = 2;
// The same, and in the same MPI_Allreduce the step's loss and stop request:
// g[n] and g[n + 1] (kStepTail floats the buffer holds past its gradients)
// carry this rank's share of the loss and its stop request, so a step costs
// one collective. The next global_mean_loss of the step returns what they
// summed to, without a collective of its own.
void average_gradients(float* g, int64_t n, float local_loss);

// The global batch's mean loss from this rank's mean loss over its share;
// *stop (if given) becomes true on every rank when it is true on any (a stop
// request seen by one rank ends the run on all at the same step). When the
// step's average_gradients carried the loss, its sums are returned (the stop
// request it carried is the one set_step_stop_request gave); otherwise one
// allreduce of two doubles agrees on them here.
double global_mean_loss(double local_loss, bool* stop = nullptr);

// Sums v[0..n) over the ranks, in place on every rank, with whether any rank
// failed to compute its part (`failure`, e.g. a NaN in the rows it read):
// then every rank throws instead of the others waiting for it in the next
// collective, the failing rank its own error, the others a
// std::runtime_error naming it ("1 of 2 ranks failed to <what> (rank 1)").
// In a single process: rethrows the failure, else leaves v as it is.
void sum_over_ranks(double* v, int n, const std::exception_ptr& failure, const std::string& what);

// A source's step (train::SourceSteps, data-parallel): this rank read
// `local` rows (or failed: `failure`, as sum_over_ranks); returns the global
// batch, the ranks' sum (0: every rank's rows ran out), with the step's
// share set (set_step_share). In a single process: local, or the failure.
int64_t source_step_batch(int64_t local, const std::exception_ptr& failure, const std::string& what);

// Seconds spent in average_gradients since the last reset (the benchmark's
// allreduce time).
double allreduce_seconds();
void reset_allreduce_seconds();

// Throws c10::Error on every rank (no rank waits for another) when the ranks
// were started with different options: rank 0's text is broadcast and each
// rank compares its own; the message names the first option that differs
// and both texts.
void check_same_options(const std::string& options);
// The first word where two option texts part, with the option it belongs
// to: "'--batch 8' against '--batch 16'" ("" when they are equal).
std::string first_difference(const std::string& a, const std::string& b);

// Throws c10::Error on every rank when the ranks hold different counts
// (e.g. training samples read from different files) or when there are more
// ranks than samples (a rank with no data).
void check_samples(int64_t samples, const char* what);

}  // namespace torchclad::dist
