#pragma once
// --stream of the command-line trainers (torchclad-train, torchclad-train-gw):
// the training tree of a ROOT file read in chunks of entries on a background
// thread while the model trains, through a shuffle buffer
// (data/stream_reader.hpp; memory: a few chunks and the buffer, whatever the
// tree's size). The options, the stream's opening, a rank's part and the
// training loop are declared here once; each trainer supplies its engine's
// step, its labels' check and its evaluation.
//
// Under mpirun each rank streams its entries of the stream
// (data/stream_ranks.hpp), through its own chunk order and shuffle buffer,
// and the ranks average each step's gradients, weighted by their rows (the
// global batch is their sum). Epoch e's order depends only on (seed, e), so
// --resume continues as the uninterrupted run.
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "cli_args.hpp"
#include "data/stream_ranks.hpp"
#include "data/stream_reader.hpp"
#include "dist/communicator.hpp"
#include "dist/data_parallel.hpp"
#include "model/defined_model.hpp"
#include "rank_log.hpp"
#include "train/checkpoint.hpp"
#include "train/optimizer_access.hpp"
#include "train/run_loop.hpp"

namespace torchclad::cli {

struct StreamOptions {
  bool on = false;
  long long chunk_entries = 65536, shuffle_buffer = 65536;
};

// --stream (stream_help: its help's start, "stream the training tree"), --chunk-entries,
// --shuffle-buffer.
inline void add_stream_options(Options& o, StreamOptions& s, const std::string& stream_help) {
  o.set("--stream",
        stream_help +
            " in chunks of entries\n"
            "read on a background thread while the model trains (memory:\n"
            "a few chunks and the shuffle buffer, whatever the tree's size);\n"
            "the test tree is read into memory",
        s.on)
      .integer("--chunk-entries", s.chunk_entries, "--stream: entries per chunk, default {default}")
      .integer("--shuffle-buffer", s.shuffle_buffer,
               "--stream: rows drawn at random from, default {default} (0: chunk order)");
}

// --help's note on --stream under mpirun.
inline std::string stream_mpirun_note() {
  return "With --stream rank r streams its entries [r n/N, (r+1) n/N) in its own\n"
         "shuffled order; each step the ranks' batches form the global batch.\n";
}

// Tree `tree` of `file` as a stream of `columns`: the options' chunks and
// shuffle buffer, the run's seed, the first train_limit entries (0: all).
// Errors (a missing file, tree or column, bad options) name `command --stream`.
// Logs what it streams, and that the test tree is read.
inline std::unique_ptr<rootdata::ColumnStream> open_training_stream(
    const std::string& command, const std::string& file, const std::string& tree,
    const rootdata::ColumnRequest& columns, const StreamOptions& s, uint64_t seed, int64_t train_limit,
    bool bytes_as_unit, const std::string& test_tree, std::ostream& log) {
  rootdata::StreamSpec spec;
  spec.files = {file};
  spec.tree = tree;
  spec.columns = columns;
  spec.chunk_entries = s.chunk_entries;
  spec.shuffle_buffer = s.shuffle_buffer;
  spec.seed = seed;
  spec.max_entries = train_limit > 0 ? train_limit : -1;
  spec.bytes_as_unit = bytes_as_unit;
  auto stream = std::make_unique<rootdata::ColumnStream>(spec, command + " --stream");
  log << "streaming tree " << tree << " of " << file << " (" << stream->entries() << " entries, chunks of "
      << s.chunk_entries << ", shuffle buffer " << s.shuffle_buffer << "); reading tree " << test_tree
      << "\n";
  return stream;
}

// The stream a rank trains on: under mpirun its entries of `whole` as a
// stream of their own (collective: an error on every rank when there are
// more ranks than entries), which every rank says it reads; in one process
// `whole` itself.
class RankStream {
 public:
  // The first epoch's chunks are read from here on (ColumnStream::prefetch),
  // while the trainer reads its test set and builds its model, as the
  // in-memory trainers read their data before the first epoch. With
  // `resume` (--resume) nothing is read here: train_on_stream reads the
  // checkpoint and prefetches the epoch it resumes from.
  RankStream(rootdata::ColumnStream& whole, const std::string& command, const RankLog& out,
             bool resume = false)
      : whole_(whole) {
    if (dist::distributed()) {
      own_ = rootdata::rank_part(whole, command + " --stream (" + dist::rank_label() + ")");
      const long long first = own_->spec().first_entry - whole.spec().first_entry;
      out.say("read training entries [" + std::to_string(first) + ", " +
              std::to_string(first + own_->entries()) + ") of " + std::to_string(whole.entries()));
    }
    if (!resume) local().prefetch(1);
  }
  // A trainer that failed before train_on_stream leaves no reader thread
  // reading ahead in `whole` (ColumnStream::cancel_prefetch).
  ~RankStream() { local().cancel_prefetch(); }
  RankStream(const RankStream&) = delete;
  RankStream& operator=(const RankStream&) = delete;
  rootdata::ColumnStream& local() { return own_ ? *own_ : whole_; }
  const rootdata::ColumnStream& whole() const { return whole_; }

 private:
  rootdata::ColumnStream& whole_;
  std::unique_ptr<rootdata::ColumnStream> own_;
};

// What a trainer does with the stream's batches.
struct StreamStep {
  // Throws for labels the model cannot take: y [n] the labels as floats,
  // entries [n] their chain entry numbers (for the message).
  std::function<void(const float* y, const long long* entries, int n)> check_labels;
  // One optimisation step on this rank's batch, x [n, features] and y [n];
  // returns its mean loss. Data-parallel, n may be 0 (this rank's entries ran
  // out): the step must still take part in the gradients' allreduce.
  std::function<float(const float* x, const float* y, int n)> step;
};

// Trains on the rank's stream in the shared epoch loop (train::SourceSteps):
// spec names the run (spec.batch: the local batch; its samples are set
// here, every rank's entries), with checkpoints of model and optimizer as
// `checkpoints` says, and evaluate after each epoch.
inline train::RunOutcome train_on_stream(RankStream& rank_stream, train::RunSpec spec,
                                         const train::CheckpointOptions& checkpoints, DefinedModel& model,
                                         const train::OptimizerAccess& optimizer, const StreamStep& s,
                                         const train::EvaluateFn& evaluate, std::ostream& log) {
  TORCH_CHECK(spec.epochs >= 1, "epochs must be at least 1, found ", spec.epochs);
  TORCH_CHECK(spec.batch >= 1, "batch must be at least 1, found ", spec.batch);
  TORCH_CHECK(spec.threads >= 1, "threads must be at least 1, found ", spec.threads);
  rootdata::ColumnStream& stream = rank_stream.local();
  TORCH_CHECK(stream.target_width() == 1, "a streamed trainer reads one label per entry, found ",
              stream.target_width(), " target values");
  at::set_num_threads(spec.threads);
  std::vector<float> x(static_cast<size_t>(spec.batch) * stream.features()), y(spec.batch);
  std::vector<long long> entries(spec.batch);
  // Whatever ends the run early (an exception, a stopped run) cancels an
  // epoch prefetched and not begun.
  const rootdata::CancelPrefetchOnExit cancel_prefetch(stream);
  train::SourceSteps steps;
  // The epoch's last rows prefetch the next epoch's first chunks, read while
  // they train and the model is evaluated (next() gives 0 rows from there).
  steps.begin_epoch = [&](int e) { stream.begin_epoch(e, spec.epochs); };
  steps.data_parallel = true;
  steps.next = [&](int& size) {
    int local = 0;
    std::exception_ptr failure;
    try {
      local = stream.next(spec.batch, x.data(), y.data(), nullptr, entries.data());
      if (s.check_labels) s.check_labels(y.data(), entries.data(), local);
    } catch (...) {
      failure = std::current_exception();
      local = 0;
    }
    // The ranks' sum (0: every rank's entries ran out); a failure on any rank ends every rank.
    size = static_cast<int>(dist::source_step_batch(local, failure, "read their stream"));
    // An empty local batch (this rank's entries ran out) adds a zero gradient.
    return size ? s.step(x.data(), y.data(), local) : 0.0f;
  };
  spec.samples = rank_stream.whole().entries();  // every rank's: the loop's steps per epoch
  train::use_checkpoints(spec, checkpoints, model, optimizer, log);
  // RankStream's prefetch(1), or the epoch a checkpoint resumes from (a
  // RankStream told of --resume prefetched nothing).
  stream.prefetch(spec.first_epoch);
  return train::run_epochs(spec, steps, evaluate, log);
}

}  // namespace torchclad::cli
