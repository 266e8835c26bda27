// torchclad/stream.h: datasets streamed from TTrees (data/stream_reader.hpp).
#include <stdexcept>

#include "dataset_impl.hpp"
#include "stream_impl.hpp"
#include "text.hpp"

namespace torchclad {
namespace {

// Paths written as ROOT users write them for TChain::Add, "file.root/tree"
// (the tree after the file): the files alone, and their tree, which must be
// the one `tree` names (if given) and the same in every path. Without a tree
// anywhere: an error saying both ways.
void split_tree_paths(std::vector<std::string>& files, std::string& tree, const std::string& where) {
  const std::string tree_arg = tree;
  for (auto& f : files) {
    const auto split = split_tree_path(f, where);
    if (!split) continue;
    const auto& [file, named] = *split;
    if (!tree.empty() && named != tree)
      throw std::runtime_error(where + ": " + quote(f) + " names tree " + quote(named) + ", but " +
                               (tree_arg.empty() ? "another path names tree " : "the tree argument is ") +
                               quote(tree) + "; every file of a stream holds the same tree");
    tree = named;
    f = file;
  }
  if (tree.empty())
    throw std::runtime_error(where +
                             ": no tree name given: pass the tree, or write the files as "
                             "'file.root/tree'");
}

std::shared_ptr<StreamDataset::Impl> open_stream(std::vector<std::string> files, std::string tree,
                                                 const rootdata::ColumnRequest& columns,
                                                 const StreamOptions& o,
                                                 const std::vector<StreamFriend>& friends,
                                                 const std::string& where) {
  split_tree_paths(files, tree, where);
  rootdata::StreamSpec spec;
  spec.files = files;
  spec.tree = tree;
  for (const auto& f : friends) {
    auto ff = f.files;
    auto ft = f.tree;
    split_tree_paths(ff, ft, where + ": friend");
    spec.friends.push_back({ft, ff, f.alias});
  }
  spec.columns = columns;
  spec.chunk_entries = o.chunk_entries;
  spec.shuffle_buffer = o.shuffle_buffer;
  spec.shuffle = o.shuffle;
  spec.seed = o.seed;
  spec.prefetch_chunks = o.prefetch_chunks;
  spec.max_entries = o.max_entries;
  auto impl = std::make_shared<StreamDataset::Impl>();
  impl->stream = std::make_unique<rootdata::ColumnStream>(spec, where);
  impl->options = o;
  return impl;
}

}  // namespace

StreamDataset::StreamDataset(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

StreamDataset::StreamDataset(const std::vector<std::string>& files, const std::string& tree,
                             const std::vector<std::string>& features, const std::string& label,
                             const std::string& weight, const StreamOptions& options,
                             const std::vector<StreamFriend>& friends)
    : impl_(open_stream(files, tree, {features, label, {}, weight}, options, friends, "StreamDataset")) {}

StreamDataset StreamDataset::regression(const std::vector<std::string>& files, const std::string& tree,
                                        const std::vector<std::string>& features,
                                        const std::vector<std::string>& targets, const std::string& weight,
                                        const StreamOptions& options,
                                        const std::vector<StreamFriend>& friends) {
  const std::string where = "StreamDataset::regression";
  if (targets.empty()) throw std::runtime_error(where + ": no target columns given; expected at least one");
  return StreamDataset(open_stream(files, tree, {features, "", targets, weight}, options, friends, where));
}

long long StreamDataset::size() const { return impl()->stream->entries(); }
int StreamDataset::features() const { return impl()->stream->features(); }
int StreamDataset::targets() const {
  return impl()->stream->regression() ? impl()->stream->target_width() : 0;
}
bool StreamDataset::has_weights() const { return impl()->stream->weighted(); }
std::vector<std::string> StreamDataset::feature_names() const { return impl()->stream->feature_names(); }
StreamOptions StreamDataset::options() const { return impl()->options; }

void StreamDataset::begin_epoch(int epoch) { impl()->stream->begin_epoch(epoch); }

long long StreamDataset::next_batch(int batch, std::vector<float>& x, std::vector<float>& y,
                                    std::vector<float>* weights, std::vector<long long>* entries) {
  if (batch < 1)
    throw std::runtime_error("StreamDataset::next_batch: batch must be at least 1, found " +
                             std::to_string(batch));
  auto& s = *impl()->stream;
  x.resize(static_cast<size_t>(batch) * s.features());
  y.resize(static_cast<size_t>(batch) * s.target_width());
  if (weights) weights->resize(batch);
  if (entries) entries->resize(batch);
  const int n = s.next(batch, x.data(), y.data(), weights ? weights->data() : nullptr,
                       entries ? entries->data() : nullptr);
  x.resize(static_cast<size_t>(n) * s.features());
  y.resize(static_cast<size_t>(n) * s.target_width());
  if (weights) weights->resize(n);
  if (entries) entries->resize(n);
  return n;
}

std::pair<StreamDataset, StreamDataset> StreamDataset::split(double test_fraction,
                                                             unsigned long long seed) const {
  const std::string where = "StreamDataset::split";
  if (!(test_fraction > 0 && test_fraction < 1))
    throw std::runtime_error(where + ": test_fraction must be in (0, 1), found " +
                             std::to_string(test_fraction));
  const auto& whole = *impl()->stream;
  if (whole.spec().holdout.fraction > 0)
    throw std::runtime_error(where + ": this stream is already the " +
                             (whole.spec().holdout.test ? "test" : "train") +
                             " part of a split; split the whole stream once, with the fractions wanted");
  auto part = [&](bool test) {
    rootdata::StreamSpec spec = whole.spec();
    spec.holdout = {test_fraction, seed, test};
    auto impl = std::make_shared<Impl>();
    impl->stream = std::make_unique<rootdata::ColumnStream>(
        spec, std::string("StreamDataset (") + (test ? "test" : "train") + " part of a split)");
    impl->options = impl_->options;
    return StreamDataset(impl);
  };
  return {part(false), part(true)};
}

Dataset StreamDataset::to_dataset() const {
  const auto& whole = *impl()->stream;
  // A stream of its own, in entry order: this one's epoch is left alone.
  rootdata::StreamSpec spec = whole.spec();
  spec.shuffle = false;
  spec.shuffle_buffer = 0;
  rootdata::ColumnStream s(spec, "StreamDataset::to_dataset");
  const long long n = s.entries();
  const int f = s.features(), t = s.target_width();
  auto x = torch::empty({n, f}, torch::kFloat32);
  auto y = torch::empty({n, t}, torch::kFloat32);
  auto w = torch::empty({n}, torch::kFloat32);
  s.begin_epoch(1);
  long long read = 0;
  const int batch = 4096;
  std::vector<float> yb(static_cast<size_t>(batch) * t), wb(batch);
  while (read < n) {
    const int m = s.next(batch, x.data_ptr<float>() + read * f, yb.data(), wb.data());
    if (m == 0) break;
    std::copy(yb.begin(), yb.begin() + static_cast<long long>(m) * t, y.data_ptr<float>() + read * t);
    std::copy(wb.begin(), wb.begin() + m, w.data_ptr<float>() + read);
    read += m;
  }
  if (read != n)
    throw std::runtime_error("StreamDataset::to_dataset: read " + std::to_string(read) + " rows of " +
                             std::to_string(n));
  auto d = std::make_shared<Dataset::Impl>();
  d->split.images = x;
  if (s.regression()) {
    d->split.labels = torch::zeros({n}, torch::kInt64);
    d->targets = y;
  } else {
    d->split.labels = y.squeeze(1).to(torch::kInt64);
  }
  if (s.weighted()) d->weights = w;
  d->feature_names = s.feature_names();  // checked against the model's, as a column dataset's are
  return Dataset(d);
}

long long StreamDataset::peak_rows_held() const { return impl()->stream->stats().peak_rows_held; }
long long StreamDataset::rows_bound() const { return impl()->stream->stats().rows_bound; }
long long StreamDataset::chunks_read() const { return impl()->stream->stats().chunks_read; }

}  // namespace torchclad
