// torchclad: training data larger than memory, streamed from TTrees.
//
// Plain C++17 like torchclad.h (no ROOT or LibTorch type crosses it), so
// cling parses it in milliseconds. Implemented in libtorchclad_root.so.
//
//   torchclad::StreamOptions o;
//   o.chunk_entries = 100000;   // entries read at a time, on a background thread
//   o.shuffle_buffer = 200000;  // rows drawn at random from
//   torchclad::StreamDataset train({"ntuple_*.root"}, "events", {"m_jj", "m_jjj", "jet_pt[:4]"},
//                                  "label", "", o);
//   auto r = torchclad::model("classifier").fit(train, test, {});  // torchclad/model.h
//
// A test set from the same files: split the stream (StreamDataset::split),
// train on one part and test on the other, never on the same entries:
//   torchclad::StreamDataset all({"ntuple_*.root"}, "events", {"m_jj", "jet_pt[:4]"}, "label", "", o);
//   auto [train, held_out] = all.split(0.2, 7);  // about 20% of the entries, chosen by seed 7
//   auto r = torchclad::model("classifier").fit(train, held_out.to_dataset(), {});
//
// Rows come from chunks of consecutive entries read while the model trains
// on earlier ones; an epoch reads the chunks in a shuffled order and draws
// rows at random from a shuffle buffer, so memory holds at most
// (prefetch_chunks + 2) chunks and the buffer, whatever the files' size.
// The order of epoch e depends only on (seed, e): the same seed gives the
// same batches, with implicit MT on or off. Every entry is read once per
// epoch. Under torchclad::Distributed with several ranks, Model::fit streams
// each rank's own entry range (torchclad/distributed.h has the rule); for a
// split's train part, each rank streams its share of the train part's entries.
//
// Columns are given as for dataset_from_columns (torchclad/rdataframe.h):
// scalars of any numeric type, fixed-size or variable-size arrays of the
// same length in every entry, ranges "name[k]", "name[:n]" (padded with 0);
// an integer label column (or float targets, StreamDataset::regression) and
// an optional weight column. They must be branches of the trees (or of their
// friends): for Defines and Filters, Snapshot the selection to a file first.
// Every file holds the same tree name: signal and background in trees of
// different names (sig_tree, bkg_tree) become one tree by a Snapshot of a
// TChain of "file.root/sig_tree" and "file.root/bkg_tree" with an integer
// label Defined (e.g. int(Type)); friends add columns, not entries. Column
// errors name the tree and the files.
// The files are only read; they and any RDataFrame over them stay usable.
#ifndef TORCHCLAD_STREAM_H
#define TORCHCLAD_STREAM_H

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "torchclad/torchclad.h"  // detail::MadeMark

namespace torchclad {

struct StreamOptions {
  long long chunk_entries = 65536;   // entries read per chunk (>= 1)
  long long shuffle_buffer = 65536;  // rows drawn at random from (0: rows in chunk order)
  bool shuffle = true;               // false: every epoch in entry order, no buffer
  unsigned long long seed = 42;
  int prefetch_chunks = 2;     // chunks read ahead of training (>= 1)
  long long max_entries = -1;  // only the first max_entries entries (-1: all), e.g. for a trial run
};

// A tree read beside the main one, entry by entry (TTree::AddFriend); its
// columns by their name or "alias.name".
struct StreamFriend {
  std::string tree;
  std::vector<std::string> files;  // as StreamDataset's files
  std::string alias;               // empty: the tree's name
};

class StreamDataset {
 public:
  // files: paths or glob patterns ("bkg_*.root": the matching files in name
  // order), chained in the order given, each holding `tree`. A path may
  // name its tree after the file, as for TChain::Add: "file.root/events"
  // with tree "" (or "events"); every path must then name the same tree.
  // label: an integer column (class index 0 to 2^24 - 1, or 0/1; empty: every label 0).
  // Checks the files and columns now and reads entry 0; throws
  // std::runtime_error (prefix "StreamDataset: ") naming the file, tree or
  // column for: a missing file or tree, no file matching a pattern, a
  // missing column (lists the columns), a column that is not numbers (its
  // type and the types expected; a C-string branch), a range on a scalar or
  // past a fixed-size array's end, a column stored with different types in
  // two of the files (both named), a float label, an array weight, no
  // entries, bad options. A NaN or infinite value, arrays of
  // different lengths, a label < 0 or > 2^24 - 1 and a basket ROOT cannot
  // read (a corrupt or truncated file, a file changed between epochs) are
  // found while reading: the error (naming the column, the entry and its
  // file) is thrown by next_batch or fit on the caller's thread (by the
  // constructor when the first entry cannot be read); the stream stays
  // usable (begin_epoch starts over).
  StreamDataset(const std::vector<std::string>& files, const std::string& tree,
                const std::vector<std::string>& features, const std::string& label,
                const std::string& weight = "", const StreamOptions& options = {},
                const std::vector<StreamFriend>& friends = {});
  // Float regression targets (columns or ranges, one or several) instead of labels.
  static StreamDataset regression(const std::vector<std::string>& files, const std::string& tree,
                                  const std::vector<std::string>& features,
                                  const std::vector<std::string>& targets, const std::string& weight = "",
                                  const StreamOptions& options = {},
                                  const std::vector<StreamFriend>& friends = {});

  long long size() const;  // entries: rows per epoch
  int features() const;
  int targets() const;  // 0: class labels; else the regression targets per row
  bool has_weights() const;
  std::vector<std::string> feature_names() const;  // "m_jj", "jet_pt[2]", ...
  StreamOptions options() const;

  // (train, test): the stream's entries in two disjoint streams that
  // together hold every entry, each entry in test with probability
  // test_fraction, chosen by a hash of (seed, the entry's number in the
  // chain): the same seed gives the same parts in every process, epoch and
  // rank, whatever the chunk size (so test holds about, not exactly,
  // test_fraction x size() entries; the same files give the same parts).
  // Both keep this stream's columns and options (the max_entries limit
  // first, then the split); each is read like any stream (its own chunks,
  // shuffle and epochs), and under Distributed each rank streams its share
  // of the train part. Throws std::runtime_error if test_fraction is not in
  // (0, 1), a part would be empty, or this stream is already a part of a split.
  std::pair<StreamDataset, StreamDataset> split(double test_fraction, unsigned long long seed = 42) const;
  // Every row of the stream, in entry order, as an in-memory Dataset (the
  // test set of Model::fit, whose test set is held in memory): size() rows of
  // features(), the labels or targets, the weights. Reads the files on the
  // caller's thread with a reader of its own (a running epoch goes on); the
  // errors of next_batch (naming the column and entry).
  Dataset to_dataset() const;

  // Reading by hand (fit does this): begin_epoch(e) starts epoch e (from 1),
  // next_batch fills x [n * features()], y [n * max(1, targets())] (the label
  // as a float, or the targets), weights [n] and the entries' numbers in the
  // chain [n] (if given), and returns n: up to `batch`, 0 at the epoch's end.
  void begin_epoch(int epoch);
  long long next_batch(int batch, std::vector<float>& x, std::vector<float>& y,
                       std::vector<float>* weights = nullptr, std::vector<long long>* entries = nullptr);

  // Memory, in rows of features() floats. peak_rows_held: the most rows held
  // at once since construction, counting rows in chunks (being read, read
  // ahead or being consumed) and rows in the shuffle buffer (a row counts
  // twice while it sits in both: in the buffer and its not yet dropped
  // chunk). rows_bound: its bound, (prefetch_chunks + 2) * chunk_entries +
  // shuffle_buffer, whatever the files' size. (The buffer is allocated for
  // min(shuffle_buffer, size()) rows.)
  long long peak_rows_held() const;
  long long rows_bound() const;
  long long chunks_read() const;

  struct Impl;
  explicit StreamDataset(std::shared_ptr<Impl> impl);
  const std::shared_ptr<Impl>& impl() const {
    if (!made_.ok()) detail::never_made("StreamDataset");
    return impl_;
  }

 private:
  std::shared_ptr<Impl> impl_;
  detail::MadeMark made_;
};

}  // namespace torchclad

#endif
