// torchclad for ROOT and programs: data-parallel training under mpirun.
// Plain C++17 like torchclad.h (cling parses it; no MPI or LibTorch header).
//
//   int main(int argc, char** argv) {          // a program (link torchclad::api)
//     torchclad::Distributed mpi(argc, argv);  // mpirun -np 4 ./program
//     ...
//     model.fit(train, test, options);         // gradients averaged over the ranks
//     model.save("model.root");                // written by rank 0
//   }
//
//   void my_macro() {                          // mpirun -np 4 root -b -q my_macro.C
//     torchclad::Distributed mpi;              // first, before any fit
//     ...
//   }
//
// Under a launcher (mpirun/mpiexec, or srun with PMIx: the environment names
// the rank) the constructor loads libtorchclad_mpi.so, which sits beside
// libtorchclad_root.so (with dlopen: neither a macro nor a program names
// it), calls MPI_Init and makes the ranks the world of every fit in the
// process: Model::fit, Mlp::fit and Cnn::fit on in-memory datasets train
// data-parallel. Without a launcher it loads nothing and the process is one
// rank (rank 0 of 1), unless it was asked to require one
// (Distributed(Distributed::require_launcher)), which then throws.
//
// The rule (engine/dist/data_parallel.hpp, the same as torchclad-train's
// under mpirun): every rank reads the same dataset and shuffles the same
// permutation of its n samples per epoch (seeded by (seed, epoch)); a step
// takes the global batch G = ranks x options.batch, and rank r of N takes
// positions [floor(r m / N), floor((r + 1) m / N)) of a global batch of m
// samples. The last, partial global batch (n not divisible by G) is shared
// with at most one sample of difference; a rank with an empty share adds a
// zero gradient. The ranks' gradients are summed with one MPI_Allreduce
// over the flat gradient buffer, weighted so that the sum is the gradient of
// the global batch's mean loss: N ranks with batch B take the steps of one
// process with batch N x B, from the same seed. So options.batch is the
// batch per rank and options.lr is the learning rate for the global batch
// N x B (scale it yourself when you change N at a fixed per-rank batch).
//
// Sharded training rows: by default every rank holds the whole training
// Dataset and takes its share of each global batch from it, so a macro that
// never calls shard() still trains correctly (each sample once per epoch
// over all ranks, the steps of one process with batch N x B, not N epochs
// averaged); what shard() saves is memory. Model::fit on
// shard(train) (or on the rows a rank read itself, shard(rows, n)) trains
// each rank on its shard, rank r of N holding rows [floor(r n / N),
// floor((r + 1) n / N)) of the n (shard_rows(n)): at each epoch's first step
// the ranks exchange the rows their shares of the epoch's permutation need
// (one or a few MPI_Alltoallv), so a rank holds about 2 n / N rows instead of
// n, with the same steps and the same result as the whole set. The
// per-event weights of all n rows stay on every rank (the loss factors and
// weighted sampling need them; 4 bytes per event). A shard is for
// Model::fit's training set only (evaluate, predict, roc and standardize
// refuse it, and so do Dataset::split and Dataset::concat: split the whole
// set first and shard its training side, mpi.shard(whole.split(0.2).first),
// so that every rank has the same test set).
//
// Model::fit on a StreamDataset runs data-parallel too: rank r streams
// entries [floor(r n / N), floor((r + 1) n / N)) of the stream's n entries
// (the rule of torchclad-train's shards), in its own chunk order and shuffle
// buffer seeded by (seed, epoch, r); each step every rank reads up to
// options.batch rows, the global batch m is the ranks' sum, and the
// gradients are averaged with weights local / m as above. A rank whose
// entries ran out adds a zero gradient; the epoch ends when all ran out
// (at most ceil(n / (N x batch)) steps; every step but the last is full).
// So N ranks with batch B take the steps of one process with batch N x B
// whose batches are the concatenation of the ranks' (with shuffle = false:
// the entries in rank order, step by step). Shuffled, what is promised is:
// every entry once per epoch over the ranks, and the same run (bit for bit)
// for the same seed and number of ranks; not one process's batches (a
// global batch draws from every rank's range alike, where one process's
// shuffle buffer draws from the chunks it holds). The per-event weight factor
// n / sum(w) is summed over all entries (the ranks add their sums). A read
// error (a NaN, a bad label) on one rank ends the fit on every rank with an
// error: that rank's own message, and on the others which rank failed.
//
// After each epoch every rank evaluates its shard of the test set, rows
// [floor(r n / N), floor((r + 1) n / N)) of its n, and the ranks add the
// metrics' sums (weighted loss, weights, weighted correct counts, weighted
// squared errors) in one allreduce; a two-class model's scores are gathered
// to every rank for the ROC AUC: the metrics of one process, to float
// rounding, on every rank (every rank's TrainResult is the same). Rank 0
// alone prints the progress, emits telemetry, and writes
// Model::save/Mlp::save/Cnn::save files; save is collective (call it on
// every rank): every rank returns once the file is written, or throws rank
// 0's error. Your own output is yours: guard it with is_root().
// Not data-parallel: Model::load / evaluate / predict / roc (each rank
// computes the whole set alone; any rank may call them).
//
// Every rank must run the same fits with the same options and data: at the
// start of each fit the ranks check that they hold the same number of
// training samples, at least one per rank, and the same model, optimizer,
// learning rate, epochs, batch and seed (else an error on every rank, naming
// rank 0's options and its own). A process that mpirun started among
// several but that has no Distributed trains alone and says so on stderr.
//
// MPI is initialised once per process and finalised when the last
// Distributed ends. A Distributed that ends while an exception leaves its
// scope (or after fail()) does not finalise: the process should exit with
// an error, and mpirun then ends the other ranks instead of leaving them
// waiting for this one in the next allreduce.
#ifndef TORCHCLAD_DISTRIBUTED_H
#define TORCHCLAD_DISTRIBUTED_H

namespace torchclad {

class Dataset;  // torchclad/torchclad.h

class Distributed {
 public:
  enum Launcher { optional_launcher, require_launcher };
  // For macros (and programs that keep argc/argv to themselves).
  explicit Distributed(Launcher launcher = optional_launcher);
  // MPI_Init may read (and remove) its own arguments.
  Distributed(int& argc, char**& argv, Launcher launcher = optional_launcher);
  ~Distributed();
  Distributed(const Distributed&) = delete;
  Distributed& operator=(const Distributed&) = delete;

  int rank() const;
  int size() const;
  bool is_root() const { return rank() == 0; }
  // True when MPI runs (a launcher started the process), even with 1 rank.
  bool active() const;
  // After an error on this rank: do not finalise MPI (see above).
  void fail();

  // This rank's rows of a training set of n: [first, first + count) =
  // [floor(rank n / size), floor((rank + 1) n / size)) (all n in one process).
  struct Rows {
    long long first = 0, count = 0;
  };
  Rows shard_rows(long long n) const;
  // This rank's shard of a training set every rank holds whole (a copy of
  // its rows; let `whole` go to free the rest), for Model::fit.
  Dataset shard(const Dataset& whole) const;
  // The rows this rank read itself, shard_rows(total) of a training set of
  // `total` (e.g. Dataset::from_tree(file, tree, "image", "label",
  // rows.first, rows.count)), as its shard for Model::fit. Collective (call
  // it on every rank): with per-event weights the ranks gather all of them.
  // Throws std::runtime_error on every rank if a rank holds other rows.
  Dataset shard(const Dataset& rows, long long total) const;

 private:
  void open(int* argc, char*** argv, Launcher launcher);
  int uncaught_ = 0;
  bool failed_ = false;
};

}  // namespace torchclad

#endif
