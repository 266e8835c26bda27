#pragma once
// Rows of a list of columns streamed from TTrees (one file, several files or
// glob patterns as a chain, friend trees) in chunks of entries, read on a
// background thread while the consumer trains on earlier rows, through a
// shuffle buffer. Memory is bounded: at most prefetch_chunks + 2 chunks and
// the shuffle buffer are held at once, whatever the trees' size.
//
// The columns are specified and checked as for read_columns
// (data/column_dataset.hpp, through data/column_spec.hpp): the same names,
// ranges ("name[k]", "name[:n]"), types and errors. Values are read with TTreeReader (no jitted
// code on the reader thread) and converted to float32.
//
// Epoch e's order depends only on (seed, e) (and StreamSpec::part): the
// chunks in a shuffled order, then rows drawn from the shuffle buffer by a
// generator seeded by (seed, e), so the same seed gives the same batches,
// with implicit MT on or off.
//
// Plain C++ and ROOT (no LibTorch): for the API's implementation.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/column_dataset.hpp"
#include "train/event_weights.hpp"

namespace torchclad::rootdata {

struct StreamFriend {
  std::string tree;
  std::vector<std::string> files;  // paths or glob patterns, as StreamSpec::files
  std::string alias;               // empty: the tree's name
};

struct StreamSpec {
  // Paths or glob patterns ("data_*.root": the matching files in name
  // order), chained in the order given; each holds tree `tree`.
  std::vector<std::string> files;
  std::string tree;
  std::vector<StreamFriend> friends;
  // features, label (empty: every label 0) or targets, weight: as read_columns.
  ColumnRequest columns;
  long long chunk_entries = 65536;   // entries read per chunk (>= 1)
  long long shuffle_buffer = 65536;  // rows; 0: rows in chunk order
  bool shuffle = true;               // false: entry order, no buffer
  uint64_t seed = 42;
  int prefetch_chunks = 2;     // chunks read ahead of the consumer (>= 1)
  long long max_entries = -1;  // read only the first max_entries entries (-1: all)
  // Start at this entry of the chain (a rank's entry range: first_entry and
  // max_entries); entries() counts from it, entries[] report chain entries.
  long long first_entry = 0;
  // Which part of a stream split over ranks this is (data/stream_ranks.hpp:
  // the rank): part p > 0 draws its chunk order and buffer rows from
  // (seed, epoch, p), so the ranks' shuffles are independent of each other.
  int part = 0;
  // A held-out part (StreamDataset::split): with fraction > 0, only the
  // entries e of the range above for which in_test(e) == test are streamed.
  // in_test(e): a hash of (seed, e) below fraction, so each entry is in the
  // test part with probability fraction, independently of the others, of the
  // chunking, the epoch and the ranks.
  struct Holdout {
    double fraction = 0;  // 0: every entry
    uint64_t seed = 0;
    bool test = false;
    bool in_test(long long e) const;
    bool keeps(long long e) const { return fraction <= 0 || in_test(e) == test; }
  };
  Holdout holdout;
  // Values of UChar_t columns divided by 255, as read_tree reads
  // MNIST-format images (the command line's --stream).
  bool bytes_as_unit = false;
};

class ColumnStream {
 public:
  // Opens the trees and checks the columns (errors: std::runtime_error
  // prefixed with `where`, as read_columns, plus a missing file or tree, no
  // file matching a pattern, no entries, bad options). Reads entry 0 to fix
  // the width of whole arrays.
  ColumnStream(const StreamSpec& spec, const std::string& where);
  ~ColumnStream();
  ColumnStream(const ColumnStream&) = delete;
  ColumnStream& operator=(const ColumnStream&) = delete;

  long long entries() const;        // rows per epoch: the range's entries the holdout keeps
  long long range_entries() const;  // chain entries [first_entry, first_entry + range_entries())
  // The chain entry number of the stream's k-th entry (0 <= k <= entries();
  // k = entries(): the range's end). Scans the holdout's selection.
  long long entry_of(long long k) const;
  int features() const;      // values per row
  int target_width() const;  // 1 (the label as a float) or the number of target values
  bool weighted() const;
  // The sums of the weights and of their absolute values over the entries
  // (1 per entry when unweighted), for the trainers' weight rule
  // (train/model_trainer.hpp, train::check_weight_sums). The first call
  // reads the weight column alone over every entry (a chain and reader of its
  // own, on the caller's thread; a running epoch goes on); later calls return
  // it. Throws for a NaN or infinite weight, naming the entry.
  train::WeightSums weight_sums();
  bool regression() const;
  const std::vector<std::string>& feature_names() const;
  const StreamSpec& spec() const;

  // Starts epoch `epoch` (>= 1) from its first row, ending the previous one.
  void begin_epoch(int epoch);
  // The same, as epoch `epoch` of a run of epochs 1..last_epoch: when next()
  // hands out this epoch's last row and epoch < last_epoch, it calls
  // prefetch(epoch + 1), so the next epoch's first chunks are read while the
  // caller trains on those rows and evaluates (next() then gives 0 rows, as
  // at the end of an epoch). The trainers' epochs begin here.
  void begin_epoch(int epoch, int last_epoch);
  // Starts reading epoch `epoch`'s chunks now, on the reader thread, so that
  // begin_epoch(epoch) after it finds its first chunks read (and its shuffle
  // buffer allocated) instead of waiting for them at its first rows. The
  // command-line trainers call it for their first epoch while they read the
  // test tree and build the model (cli::RankStream), Model::fit after it
  // has read its test set, while it sums the weights and prepares its step;
  // both, through begin_epoch(e, last_epoch), for epoch e + 1 while they
  // evaluate epoch e. It ends the current epoch (next() returns 0 until
  // begin_epoch). The rows and their order are those of begin_epoch(epoch)
  // alone; begin_epoch(e) after prefetch(other epoch) starts epoch e over as
  // usual.
  void prefetch(int epoch);
  // Ends a prefetch(epoch) that no begin_epoch(epoch) followed: stops its
  // reader thread (within the entry it is reading, not after its chunk) and
  // drops the chunks read. Nothing otherwise (an epoch begun reads on).
  // next() returns 0 until begin_epoch. A trainer leaving early, by an
  // exception or a stopped run, calls it (CancelPrefetchOnExit) so that no
  // reader thread goes on reading ahead in its caller's stream.
  void cancel_prefetch() noexcept;
  // The epoch prefetch() started that no begin_epoch has begun yet (0: none).
  int prefetched() const;
  // Whether a reader thread is reading (or waiting to queue) chunks: false
  // before the first epoch, after cancel_prefetch, and once an epoch's last
  // chunk is queued.
  bool reading() const;
  // The epoch's next rows, up to `batch` of them: x [n, features()], y [n,
  // target_width()], w [n] (if not null; 1 when unweighted), entries [n] (the
  // chain's entry numbers, if not null). Returns n, 0 at the end of the
  // epoch. Rethrows an error of the reader thread (a NaN or infinite value,
  // arrays of different lengths, a label < 0 or > 2^24 - 1, a read error) when the
  // rows reach the entry where it happened.
  int next(int batch, float* x, float* y, float* w = nullptr, long long* entries = nullptr);

  struct Stats {
    // The most rows held at once: rows in chunks being read, queued or
    // consumed, plus the rows in the shuffle buffer (a row copied from a
    // chunk into the buffer counts twice until its chunk is dropped).
    long long peak_rows_held = 0;
    long long rows_bound = 0;   // (prefetch_chunks + 2) * chunk_entries + shuffle_buffer
    long long chunks_read = 0;  // since construction
  };
  Stats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Cancels `stream`'s prefetched epoch, if no begin_epoch began it, when it
// goes out of scope (ColumnStream::cancel_prefetch): for a trainer that
// prefetches and may then leave early, by an exception (refused weights, a
// checkpoint of another run, an unwritable metrics file) or a run stopped
// (a non-finite loss, a stop request) after an epoch whose last rows
// prefetched the next. A run that ends after its last epoch has nothing
// prefetched.
class CancelPrefetchOnExit {
 public:
  explicit CancelPrefetchOnExit(ColumnStream& stream) : stream_(stream) {}
  ~CancelPrefetchOnExit() { stream_.cancel_prefetch(); }
  CancelPrefetchOnExit(const CancelPrefetchOnExit&) = delete;
  CancelPrefetchOnExit& operator=(const CancelPrefetchOnExit&) = delete;

 private:
  ColumnStream& stream_;
};

}  // namespace torchclad::rootdata
