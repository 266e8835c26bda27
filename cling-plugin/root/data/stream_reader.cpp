#include "data/stream_reader.hpp"

#include <ROOT/RDataFrame.hxx>
#include <TChain.h>
#include <TDirectory.h>
#include <TBranch.h>
#include <TLeaf.h>
#include <TROOT.h>
#include <TTreeReader.h>
#include <TTreeReaderArray.h>
#include <TTreeReaderValue.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <limits>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>

#include "data/column_spec.hpp"
#include "data/tree_dataset.hpp"
#include "data/tree_files.hpp"
#include "src/feature_names.hpp"
#include "src/text.hpp"

namespace torchclad::rootdata {
namespace {

// ------------------------------------------------------------ the files ---

std::unique_ptr<TChain> make_chain(const std::string& tree, const std::vector<std::string>& files) {
  auto chain = std::make_unique<TChain>(tree.c_str());
  chain->SetDirectory(nullptr);
  for (const auto& f : files) chain->Add(f.c_str());
  return chain;
}

// Where chain entry e is: "entry L of file 'F'".
std::string locate(const TChain& chain, long long e) {
  const Long64_t* offsets = chain.GetTreeOffset();
  const auto* files = chain.GetListOfFiles();
  for (int i = 0; offsets && files && i < chain.GetNtrees() && i < files->GetEntries(); ++i)
    if (e >= offsets[i] && (i + 1 == chain.GetNtrees() || e < offsets[i + 1]))
      return "entry " + std::to_string(e - offsets[i]) + " of file " + quote(files->At(i)->GetTitle());
  return "entry " + std::to_string(e) + " of the chain";
}

// ------------------------------------------------------- typed readers ---

// One column of the current entry, its values as float (or the first as a
// long long, for labels). Typed by the column's element type, as RDataFrame
// names it, without jitting.
struct ColumnReader {
  virtual ~ColumnReader() = default;
  virtual long long size() = 0;  // values in the entry (1 for a scalar)
  virtual void copy(float* dst, long long n,
                    long long first = 0) = 0;  // values first, ..., first + n - 1 < size()
  virtual long long integer() = 0;             // value 0, for labels
  virtual bool ready() = 0;                    // set up on its branch, of the branch's type
  // Scalars: reads the entry's basket, true if ROOT could. Called first for
  // every entry: after a failed read, TTreeReader hands out null pointers
  // (and a later read of the same entry reports success), so the values are
  // used only after this succeeded. Arrays: true (ProxyRead on a
  // TTreeReaderArray not yet accessed never returns); Impl::load_entry reads
  // their branches itself.
  virtual bool read() = 0;
};

// An unsigned value past long long's range stays large (refused as too large), not negative.
template <typename T>
long long as_label(T v) {
  if constexpr (std::is_unsigned_v<T>)
    if (v > static_cast<T>(std::numeric_limits<long long>::max()))
      return std::numeric_limits<long long>::max();
  return static_cast<long long>(v);
}

template <typename T>
struct ScalarReader final : ColumnReader {
  TTreeReaderValue<T> v;
  ScalarReader(TTreeReader& r, const std::string& c) : v(r, c.c_str()) {}
  long long size() override { return 1; }
  void copy(float* dst, long long, long long) override { *dst = static_cast<float>(*v); }
  long long integer() override { return as_label(*v); }
  bool ready() override { return v.GetSetupStatus() >= 0; }
  bool read() override {
    return v.ProxyRead() == ROOT::Internal::TTreeReaderValueBase::kReadSuccess && v.Get();
  }
};

template <typename T>
struct ArrayReader final : ColumnReader {
  TTreeReaderArray<T> v;
  ArrayReader(TTreeReader& r, const std::string& c) : v(r, c.c_str()) {}
  long long size() override { return static_cast<long long>(v.GetSize()); }
  void copy(float* dst, long long n, long long first) override {
    if (n <= 0) return;
    if (v.IsContiguous() && v.GetValueSize() == sizeof(T)) {  // a pointer, not a call per value
      const T* src = &v[first];
      for (long long k = 0; k < n; ++k) dst[k] = static_cast<float>(src[k]);
    } else {
      for (long long k = 0; k < n; ++k) dst[k] = static_cast<float>(v[first + k]);
    }
  }
  long long integer() override { return as_label(v[0]); }
  bool ready() override { return v.GetSetupStatus() >= 0; }
  bool read() override { return true; }
};

template <template <typename> class R>
std::unique_ptr<ColumnReader> typed(TTreeReader& r, const std::string& column, const std::string& t) {
  auto is = [&](std::initializer_list<const char*> names) {
    return std::find(names.begin(), names.end(), t) != names.end();
  };
  if (is({"Bool_t", "bool"})) return std::make_unique<R<bool>>(r, column);
  if (is({"Char_t", "char"})) return std::make_unique<R<char>>(r, column);
  if (is({"signed char", "int8_t", "std::int8_t"})) return std::make_unique<R<signed char>>(r, column);
  if (is({"UChar_t", "unsigned char", "uint8_t", "std::uint8_t"}))
    return std::make_unique<R<unsigned char>>(r, column);
  if (is({"Short_t", "short", "int16_t", "std::int16_t"})) return std::make_unique<R<short>>(r, column);
  if (is({"UShort_t", "unsigned short", "uint16_t", "std::uint16_t"}))
    return std::make_unique<R<unsigned short>>(r, column);
  if (is({"Int_t", "int", "int32_t", "std::int32_t"})) return std::make_unique<R<int>>(r, column);
  if (is({"UInt_t", "unsigned int", "uint32_t", "std::uint32_t"}))
    return std::make_unique<R<unsigned int>>(r, column);
  if (is({"Long_t", "long", "int64_t", "std::int64_t"})) return std::make_unique<R<long>>(r, column);
  if (is({"ULong_t", "unsigned long", "uint64_t", "std::uint64_t", "size_t", "std::size_t"}))
    return std::make_unique<R<unsigned long>>(r, column);
  if (is({"Long64_t", "long long"})) return std::make_unique<R<long long>>(r, column);
  if (is({"ULong64_t", "unsigned long long"})) return std::make_unique<R<unsigned long long>>(r, column);
  if (is({"Float_t", "float", "Float16_t"})) return std::make_unique<R<float>>(r, column);
  if (is({"Double_t", "double", "Double32_t"})) return std::make_unique<R<double>>(r, column);
  return nullptr;
}

std::unique_ptr<ColumnReader> make_reader(const std::string& where, TTreeReader& r, const ColumnPart& p) {
  auto reader =
      p.array ? typed<ArrayReader>(r, p.column, p.element_type()) : typed<ScalarReader>(r, p.column, p.type);
  if (!reader)
    throw std::runtime_error(where + ": " + p.role + " column " + quote(p.column) + " has type " + p.type +
                             ", which the streaming reader cannot read; expected " + kExpectedNumbers);
  return reader;
}

// ------------------------------------------------------------- chunks ---

struct Chunk {
  long long first = 0, rows = 0;
  std::vector<long long> entry;  // row r's chain entry (the holdout skips some)
  std::vector<float> x, y, w;
  std::exception_ptr error;  // the reader failed at entry[rows]
  bool end = false;          // no more chunks this epoch
};

// splitmix64's finalizer: a well-mixed 64-bit hash.
uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

bool StreamSpec::Holdout::in_test(long long e) const {
  const uint64_t h = mix(mix(seed) ^ static_cast<uint64_t>(e));
  return static_cast<double>(h >> 11) * 0x1.0p-53 < fraction;  // uniform in [0, 1)
}

struct ColumnStream::Impl {
  StreamSpec spec;
  std::string where;
  // Destroyed in reverse order: the readers, then the reader, the chain, its friends.
  std::vector<std::unique_ptr<TChain>> friend_chains;
  std::unique_ptr<TChain> chain;
  std::unique_ptr<TTreeReader> reader;
  std::vector<ColumnPart> parts;  // features then targets
  std::vector<std::unique_ptr<ColumnReader>> part_readers;
  std::vector<long long> widths;  // values per part
  std::vector<bool> unit;         // per part: bytes scaled by 1/255
  std::unique_ptr<ColumnReader> label, weight;
  // Readers of the branches holding variable-size arrays' sizes, read before
  // the arrays (a failed size read crashes TTreeReaderArray::GetSize).
  std::vector<std::unique_ptr<ColumnReader>> size_readers;
  struct ReadCheck {
    ColumnReader* reader;
    std::string what;  // "feature column 'x'", for errors
  };
  std::vector<ReadCheck> checks;  // every scalar reader of an entry, sizes first
  // Array columns' branches, read by TBranch::GetEntry before TTreeReaderArray
  // reads them (the pointers are the current tree's, found again when the
  // chain moves to another file; null: not found, e.g. a friend's, unchecked).
  struct BranchCheck {
    std::string branch, what;
    TBranch* current = nullptr;
  };
  std::vector<BranchCheck> array_checks;
  int checked_tree = -1;
  std::optional<ColumnPart> weight_part;
  train::WeightSums weight_total;
  bool weight_total_known = false;
  long long range = 0;    // chain entries [spec.first_entry, spec.first_entry + range)
  long long entries = 0;  // of them, those the holdout keeps
  int features = 0, target_width = 1;
  bool regression = false;
  std::vector<std::string> feature_names, target_names;

  // The epoch's reader thread and what it hands over.
  std::thread thread;
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::shared_ptr<Chunk>> queue;
  // Set (under the mutex) to end the reader: it returns before its next chunk
  // or its next entry, dropping the chunk it was reading.
  std::atomic<bool> stop{false};
  std::atomic<bool> producing{false};  // the reader thread has chunks left to read or queue

  // The consumer's side.
  int epoch = 0;
  std::shared_ptr<Chunk> current;
  long long current_row = 0;
  bool source_done = true;
  std::vector<float> buf_x, buf_y, buf_w;
  std::vector<long long> buf_entry;
  long long buf_rows = 0, buf_cap = 0;
  std::mt19937_64 rng;
  std::vector<long long> draws;  // draw_full's buffer rows (grown once to the batch)
  // prefetch(e) started epoch e's reader, which begin_epoch(e) keeps (0: none).
  int prefetched = 0;
  bool ended = false;  // prefetch ended the consumer's epoch: next() gives 0 rows
  // begin_epoch(epoch, last_epoch): next() prefetches epoch + 1 after handing
  // out the epoch's rows_out == entries-th row, if epoch < last_epoch (0: never).
  int last_epoch = 0;
  long long rows_out = 0;

  // Starts epoch `epoch`'s reader thread (ending the one running) and resets
  // the consumer's side: its chunk, its buffer (allocated here: its pages are
  // touched before the first row is), its generator. If it throws, no reader
  // runs, nothing is prefetched and next() gives 0 rows until begin_epoch.
  void start(int epoch);
  // No reader running, nothing prefetched, no rows: next() gives 0 until
  // begin_epoch (start's first step; cancel_prefetch).
  void end_reading() {
    prefetched = 0;
    ended = true;
    source_done = true;
    stop_thread();
    drop_current();
    set_buffer_rows(0);
  }

  // Rows held in chunks (read, queued or being consumed) and in the buffer.
  std::atomic<long long> chunk_rows{0};
  std::atomic<long long> buffer_rows{0};
  std::atomic<long long> peak{0};
  std::atomic<long long> chunks_read{0};

  // The trees as a chain with its friends (the friends' chains kept in `friends`).
  std::unique_ptr<TChain> open_chain(std::vector<std::unique_ptr<TChain>>& friends) const {
    auto c = make_chain(spec.tree, tree_files(where, spec.files, spec.tree));
    for (const auto& f : spec.friends) {
      auto fc = make_chain(f.tree, tree_files(where + ": friend tree " + quote(f.tree), f.files, f.tree));
      c->AddFriend(fc.get(), f.alias.empty() ? f.tree.c_str() : f.alias.c_str());
      friends.push_back(std::move(fc));
    }
    return c;
  }

  void note_peak() {
    const long long now = chunk_rows.load() + buffer_rows.load();
    long long p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {
    }
  }
  void note_rows(long long delta) {
    chunk_rows.fetch_add(delta);
    note_peak();
  }
  void set_buffer_rows(long long n) {  // the consumer's thread
    buf_rows = n;
    buffer_rows.store(n);
    note_peak();
  }

  // Where chain entry e is, in the epochs' chain (the reader thread's while an
  // epoch reads: weight_sums locates its entries in a chain of its own).
  std::string locate(long long e) const { return rootdata::locate(*chain, e); }

  // Loads chain entry e and reads every column's baskets; throws naming the
  // entry, the file and the column whose basket ROOT could not read.
  void load_entry(long long e) {
    const auto status = reader->SetEntry(e);
    if (status != TTreeReader::kEntryValid) {
      const char* why = status == TTreeReader::kEntryChainSetupError  ? "the file lacks the tree or a branch"
                        : status == TTreeReader::kEntryChainFileError ? "the file cannot be opened"
                        : status == TTreeReader::kEntryNotFound       ? "no such entry"
                        : status == TTreeReader::kEntryNoTree         ? "the tree is gone"
                                                                      : "TTreeReader error";
      throw std::runtime_error(where + ": reading entry " + std::to_string(e) + " (" + locate(e) +
                               ") failed: " + why + " (TTreeReader status " +
                               std::to_string(static_cast<int>(status)) +
                               "); did the files change, or is one corrupt?");
    }
    auto failed = [&](const std::string& what) {
      return std::runtime_error(where + ": reading " + what + " at entry " + std::to_string(e) + " (" +
                                locate(e) +
                                ") failed: ROOT could not read its basket (ROOT's error above names it); "
                                "is the file corrupt or truncated?");
    };
    for (const auto& c : checks)
      if (!c.reader->read()) throw failed(c.what);
    if (array_checks.empty()) return;
    if (chain->GetTreeNumber() != checked_tree) {
      checked_tree = chain->GetTreeNumber();
      for (auto& a : array_checks)
        a.current = chain->GetTree() ? chain->GetTree()->GetBranch(a.branch.c_str()) : nullptr;
    }
    for (const auto& a : array_checks)
      if (a.current && a.current->GetEntry(a.current->GetTree()->GetReadEntry()) < 0) throw failed(a.what);
  }

  // Reads entry e into row r of the chunk; throws on bad values.
  void read_entry(long long e, Chunk& c, long long r) {
    load_entry(e);
    float* xr = c.x.data() + r * features;
    float* yr = c.y.data() + r * target_width;
    float* out[2] = {xr, yr};
    for (size_t i = 0; i < parts.size(); ++i) {
      const ColumnPart& p = parts[i];
      ColumnReader& cr = *part_readers[i];
      float*& dst = out[p.role == "feature" ? 0 : 1];
      const long long n = cr.size();
      if (p.unsized()) {
        if (n != widths[i])
          throw std::runtime_error(where + ": " + p.role + " column " + quote(p.column) + " (" + p.type +
                                   ") holds arrays of different lengths: " + std::to_string(widths[i]) +
                                   " values at entry 0, " + std::to_string(n) + " at entry " +
                                   std::to_string(e) + "; write " + quote(p.column + "[:n]") +
                                   " to take the first n values, padded with 0 where an entry has fewer");
        cr.copy(dst, n);
      } else if (p.array) {
        const long long k = std::clamp(n - p.first, 0LL, widths[i]);  // values the entry has in the range
        cr.copy(dst, k, p.first);
        std::fill(dst + k, dst + widths[i], 0.0f);
      } else {
        cr.copy(dst, 1);
      }
      if (unit[i])  // exactly as read_tree: float(byte) / 255
        for (long long k = 0; k < widths[i]; ++k) dst[k] = dst[k] / 255.0f;
      dst += widths[i];
    }
    check_finite(e, xr, features, feature_names, "feature");
    if (regression) {
      check_finite(e, yr, target_width, target_names, "target");
    } else {
      const long long l = label ? label->integer() : 0;
      if (l < 0 || l > kMaxLabel)
        throw std::runtime_error(where + ": " +
                                 label_range_error(spec.columns.label, l, "entry " + std::to_string(e)));
      *yr = static_cast<float>(l);
    }
    if (weight) {
      float w = 0;
      weight->copy(&w, 1);
      check_finite(e, &w, 1, {spec.columns.weight}, "weight");
      c.w[r] = w;
    }
  }

  void check_finite(long long e, const float* v, int n, const std::vector<std::string>& names,
                    const char* what) const {
    for (int k = 0; k < n; ++k)
      if (!std::isfinite(v[k]))
        throw std::runtime_error(where + ": " + what + " " + quote(names[k]) + " is " +
                                 (std::isnan(v[k]) ? "NaN"
                                  : v[k] > 0       ? "+inf"
                                                   : "-inf") +
                                 " at entry " + std::to_string(e) +
                                 "; expected finite numbers (a value too large for float32 becomes inf)");
  }

  // The reader thread of one epoch: the chunks in `order`, each pushed when
  // read, waiting while prefetch_chunks are queued. Whatever fails, the
  // consumer gets a chunk with the error or the end: it never waits forever.
  void produce(const std::vector<long long>& order) {
    try {
      produce_chunks(order);
    } catch (...) {
      auto failed = std::make_shared<Chunk>();
      failed->error = std::current_exception();
      push(std::move(failed));
    }
    producing.store(false);
  }

  void push(std::shared_ptr<Chunk> c) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      queue.push_back(std::move(c));
    }
    changed.notify_all();
  }

  void produce_chunks(const std::vector<long long>& order) {
    for (long long k : order) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return stop || static_cast<int>(queue.size()) < spec.prefetch_chunks; });
        if (stop) return;
      }
      auto c = std::make_shared<Chunk>();
      c->first = spec.first_entry + k * spec.chunk_entries;
      const long long end = std::min(c->first + spec.chunk_entries, spec.first_entry + range);
      for (long long e = c->first; e < end; ++e)
        if (spec.holdout.keeps(e)) c->entry.push_back(e);
      const auto n = static_cast<long long>(c->entry.size());
      c->x.resize(n * features);
      c->y.resize(n * target_width);
      if (weight) c->w.resize(n);
      note_rows(n);
      try {
        for (c->rows = 0; c->rows < n; ++c->rows) {
          if (stop.load(std::memory_order_relaxed)) {  // the chunk half-read: dropped, not counted
            note_rows(-n);
            return;
          }
          read_entry(c->entry[c->rows], *c, c->rows);
        }
      } catch (...) {
        c->error = std::current_exception();
      }
      chunks_read.fetch_add(1);
      const bool failed = static_cast<bool>(c->error);
      if (c->rows < n) note_rows(c->rows - n);
      push(std::move(c));
      if (failed) return;
    }
    auto end = std::make_shared<Chunk>();
    end->end = true;
    push(std::move(end));
  }

  void stop_thread() {
    if (!thread.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    changed.notify_all();
    thread.join();
    for (const auto& c : queue) note_rows(-c->rows);
    queue.clear();
    stop = false;
    producing.store(false);
  }

  void drop_current() {
    if (current) note_rows(-current->rows);
    current.reset();
  }

  // The next row of the epoch's chunks into the given row pointers; false at the end.
  bool pull(float* x, float* y, float* w, long long* entry) {
    while (!current || current_row >= current->rows) {
      if (current && current->error) {
        auto error = current->error;
        drop_current();
        source_done = true;
        std::rethrow_exception(error);
      }
      drop_current();
      if (source_done) return false;
      std::unique_lock<std::mutex> lock(mutex);
      changed.wait(lock, [&] { return !queue.empty(); });
      current = std::move(queue.front());
      queue.pop_front();
      lock.unlock();
      changed.notify_all();
      current_row = 0;
      if (current->end) {
        current.reset();
        source_done = true;
        return false;
      }
    }
    const long long r = current_row++;
    std::memcpy(x, current->x.data() + r * features, sizeof(float) * features);
    std::memcpy(y, current->y.data() + r * target_width, sizeof(float) * target_width);
    *w = weight ? current->w[r] : 1.0f;
    *entry = current->entry[r];
    return true;
  }

  // Rows of the current chunk not yet taken (0: none, or no chunk yet).
  long long rows_left() const { return current ? current->rows - current_row : 0; }

  // The current chunk's next k <= rows_left() rows at once (one copy per
  // column instead of one per row): x [k, features], y [k, target_width],
  // w [k] and entry [k] if not null.
  void take(long long k, float* x, float* y, float* w, long long* entry) {
    const long long r = current_row;
    current_row += k;
    std::memcpy(x, current->x.data() + r * features, sizeof(float) * features * k);
    std::memcpy(y, current->y.data() + r * target_width, sizeof(float) * target_width * k);
    if (w) {
      if (weight)
        std::memcpy(w, current->w.data() + r, sizeof(float) * k);
      else
        std::fill(w, w + k, 1.0f);
    }
    if (entry) std::memcpy(entry, current->entry.data() + r, sizeof(long long) * k);
  }

  // k draws from the full buffer whose replacements are the current chunk's
  // next k <= rows_left() rows: what k single draws do (the same generator
  // calls, the same rows out and in), with the k rows' indices drawn first
  // so that the buffer rows, scattered over the buffer and mostly out of the
  // caches, are prefetched a few draws ahead of their copy. Rows out: x [k,
  // features], y [k, target_width], w and entry (if not null).
  void draw_full(long long k, float* x, float* y, float* w, long long* entry) {
    if (static_cast<long long>(draws.size()) < k) draws.resize(k);
    const auto rows = static_cast<uint64_t>(buf_rows);
    for (long long i = 0; i < k; ++i) draws[i] = static_cast<long long>(rng() % rows);
    const auto prefetch = [&](long long j) {
      const char* px = reinterpret_cast<const char*>(bx(j));
      for (size_t b = 0; b < sizeof(float) * features; b += 64) __builtin_prefetch(px + b);
      __builtin_prefetch(by(j));
      __builtin_prefetch(&buf_w[j]);
      __builtin_prefetch(&buf_entry[j]);
    };
    constexpr long long kAhead = 8;  // draws prefetched ahead of the one copied
    for (long long i = 0; i < std::min(k, kAhead); ++i) prefetch(draws[i]);
    const float* cx = current->x.data();
    const float* cy = current->y.data();
    for (long long i = 0; i < k; ++i) {
      if (i + kAhead < k) prefetch(draws[i + kAhead]);
      // In order: a row drawn twice in the k draws is the replacement the second time.
      const long long j = draws[i], r = current_row++;
      std::memcpy(x + i * features, bx(j), sizeof(float) * features);
      std::memcpy(bx(j), cx + r * features, sizeof(float) * features);
      std::memcpy(y + i * target_width, by(j), sizeof(float) * target_width);
      std::memcpy(by(j), cy + r * target_width, sizeof(float) * target_width);
      if (w) w[i] = buf_w[j];
      buf_w[j] = weight ? current->w[r] : 1.0f;
      if (entry) entry[i] = buf_entry[j];
      buf_entry[j] = current->entry[r];
    }
  }

  float* bx(long long r) { return buf_x.data() + r * features; }
  float* by(long long r) { return buf_y.data() + r * target_width; }
};

ColumnStream::ColumnStream(const StreamSpec& spec, const std::string& where)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.spec = spec;
  s.where = where;
  if (spec.tree.empty()) throw std::runtime_error(where + ": no tree name given");
  if (spec.chunk_entries < 1)
    throw std::runtime_error(where + ": chunk_entries must be at least 1, found " +
                             std::to_string(spec.chunk_entries));
  if (spec.shuffle_buffer < 0)
    throw std::runtime_error(where + ": shuffle_buffer must be >= 0 rows, found " +
                             std::to_string(spec.shuffle_buffer));
  if (spec.max_entries == 0 || spec.max_entries < -1)
    throw std::runtime_error(where + ": max_entries must be -1 (all) or at least 1, found " +
                             std::to_string(spec.max_entries));
  if (spec.prefetch_chunks < 1)
    throw std::runtime_error(where + ": prefetch_chunks must be at least 1, found " +
                             std::to_string(spec.prefetch_chunks));
  if (spec.part < 0)
    throw std::runtime_error(where + ": part must be >= 0, found " + std::to_string(spec.part));
  if (spec.first_entry < 0)
    throw std::runtime_error(where + ": first_entry must be >= 0, found " + std::to_string(spec.first_entry));
  if (!spec.shuffle) s.spec.shuffle_buffer = 0;
  // The reader thread uses ROOT I/O beside the caller's thread.
  ROOT::EnableThreadSafety();
  TDirectory::TContext keep_current_directory;
  s.chain = s.open_chain(s.friend_chains);
  s.entries = s.chain->GetEntries();
  if (s.entries <= 0) throw std::runtime_error(where + ": no entries: the trees are empty");
  if (spec.first_entry >= s.entries)
    throw std::runtime_error(where + ": first_entry " + std::to_string(spec.first_entry) + " is past the " +
                             std::to_string(s.entries) + " entries of the trees");
  s.range = s.entries - spec.first_entry;
  if (spec.max_entries > 0) s.range = std::min(s.range, spec.max_entries);
  if (spec.holdout.fraction < 0 || spec.holdout.fraction >= 1)
    throw std::runtime_error(where + ": the held-out fraction must be in [0, 1), found " +
                             std::to_string(spec.holdout.fraction));
  s.entries = spec.holdout.fraction > 0 ? 0 : s.range;
  if (spec.holdout.fraction > 0)
    for (long long e = spec.first_entry; e < spec.first_entry + s.range; ++e)
      s.entries += spec.holdout.keeps(e);
  if (s.entries == 0)
    throw std::runtime_error(where + ": no entries: the " + (spec.holdout.test ? "test" : "train") +
                             " part of the split keeps none of the " + std::to_string(s.range) + " entries");

  // The columns, checked as the in-memory reader checks them.
  ResolvedColumns resolved;
  {
    ROOT::RDataFrame df(*s.chain);
    try {
      resolved = resolve_columns(df, spec.columns, where);
    } catch (const std::runtime_error& e) {
      // Which tree of which files lacks the column: with several sources
      // (signal and background streams, a weight only one tree has) the
      // column list alone does not say.
      std::string files;
      for (size_t i = 0; i < spec.files.size() && i < 3; ++i) files += (i ? ", " : "") + quote(spec.files[i]);
      if (spec.files.size() > 3) files += " and " + std::to_string(spec.files.size() - 3) + " more";
      throw std::runtime_error(std::string(e.what()) + " (tree " + quote(spec.tree) + " in " + files + ")");
    }
  }
  s.parts = resolved.parts;
  s.regression = !spec.columns.targets.empty();
  // The branches holding the sizes of variable-size arrays ("trk_pt[ntrk]": ntrk).
  std::vector<std::pair<std::string, std::string>> sizes;  // branch, type
  std::vector<std::string> size_of;                        // whose sizes, for errors
  for (const auto& p : s.parts) {
    TBranch* b = p.array ? s.chain->GetBranch(p.column.c_str()) : nullptr;
    TLeaf* leaf = b ? b->GetLeaf(p.column.c_str()) : nullptr;
    if (b && !leaf && b->GetListOfLeaves()->GetEntries() == 1)
      leaf = static_cast<TLeaf*>(b->GetListOfLeaves()->At(0));
    TLeaf* count = leaf ? leaf->GetLeafCount() : nullptr;
    if (!count || !count->GetBranch()) continue;
    const std::pair<std::string, std::string> size{count->GetBranch()->GetName(), count->GetTypeName()};
    if (std::find(sizes.begin(), sizes.end(), size) != sizes.end()) continue;
    sizes.push_back(size);
    size_of.push_back(p.role + " column " + quote(p.column));
  }
  s.reader = std::make_unique<TTreeReader>(s.chain.get());
  for (size_t i = 0; i < sizes.size(); ++i)
    if (auto r = typed<ScalarReader>(*s.reader, sizes[i].first, sizes[i].second)) {
      s.checks.push_back({r.get(), "branch " + quote(sizes[i].first) + " (the sizes of " + size_of[i] + ")"});
      s.size_readers.push_back(std::move(r));
    }
  for (const auto& p : s.parts) s.part_readers.push_back(make_reader(where, *s.reader, p));
  if (!spec.columns.label.empty()) {
    ColumnPart lp{"label", spec.columns.label, spec.columns.label, resolved.label_type};
    s.label = make_reader(where, *s.reader, lp);
  }
  if (resolved.weight) s.weight = make_reader(where, *s.reader, *resolved.weight);
  s.weight_part = resolved.weight;
  for (size_t i = 0; i < s.parts.size(); ++i) {
    const std::string what = s.parts[i].role + " column " + quote(s.parts[i].column);
    if (s.parts[i].array)
      s.array_checks.push_back({s.parts[i].column, what});
    else
      s.checks.push_back({s.part_readers[i].get(), what});
  }
  if (s.label) s.checks.push_back({s.label.get(), "label column " + quote(spec.columns.label)});
  if (s.weight) s.checks.push_back({s.weight.get(), "weight column " + quote(resolved.weight->column)});

  // Entry 0 fixes the width of whole arrays.
  if (s.reader->SetEntry(0) != TTreeReader::kEntryValid)
    throw std::runtime_error(where + ": cannot read entry 0 (TTreeReader status " +
                             std::to_string(static_cast<int>(s.reader->GetEntryStatus())) +
                             "; is a column of another type than its branch, or the file corrupt?)");
  auto check_ready = [&](ColumnReader& r, const std::string& role, const std::string& column,
                         const std::string& type) {
    if (!r.ready())
      throw std::runtime_error(where + ": " + role + " column " + quote(column) + " (" + type +
                               "): TTreeReader cannot read it as that type (is it a friend tree's "
                               "column under another name, or a branch of a class?)");
  };
  for (size_t i = 0; i < s.parts.size(); ++i)
    check_ready(*s.part_readers[i], s.parts[i].role, s.parts[i].column, s.parts[i].type);
  if (s.label) check_ready(*s.label, "label", spec.columns.label, resolved.label_type);
  if (s.weight) check_ready(*s.weight, "weight", resolved.weight->column, resolved.weight->type);
  s.load_entry(0);
  int f = 0, t = 0;
  for (size_t i = 0; i < s.parts.size(); ++i) {
    const ColumnPart& p = s.parts[i];
    const long long w = p.unsized() ? s.part_readers[i]->size() : p.array ? p.take : 1;
    s.widths.push_back(w);
    const std::string elem = p.element_type();
    s.unit.push_back(spec.bytes_as_unit &&
                     (elem == "UChar_t" || elem == "unsigned char" || elem == "uint8_t"));
    auto& names = p.role == "feature" ? s.feature_names : s.target_names;
    for (long long k = 0; k < w; ++k)
      names.push_back(p.array ? array_value_name(p.column, p.first + k) : p.column);
    (p.role == "feature" ? f : t) += static_cast<int>(w);
  }
  if (f == 0)
    throw std::runtime_error(where + ": the feature columns hold no values (empty arrays in entry 0)");
  if (s.regression && t == 0)
    throw std::runtime_error(where + ": the target columns hold no values (empty arrays in entry 0)");
  s.features = f;
  s.target_width = s.regression ? t : 1;
}

ColumnStream::~ColumnStream() {
  impl_->stop_thread();
  impl_->drop_current();
}

long long ColumnStream::entries() const { return impl_->entries; }
long long ColumnStream::range_entries() const { return impl_->range; }
long long ColumnStream::entry_of(long long k) const {
  const Impl& s = *impl_;
  const long long first = s.spec.first_entry, end = first + s.range;
  if (s.spec.holdout.fraction <= 0) return first + std::clamp(k, 0LL, s.range);
  for (long long e = first; e < end; ++e)
    if (s.spec.holdout.keeps(e) && k-- == 0) return e;
  return end;
}
int ColumnStream::features() const { return impl_->features; }
int ColumnStream::target_width() const { return impl_->target_width; }
bool ColumnStream::weighted() const { return static_cast<bool>(impl_->weight); }
bool ColumnStream::regression() const { return impl_->regression; }
const std::vector<std::string>& ColumnStream::feature_names() const { return impl_->feature_names; }
const StreamSpec& ColumnStream::spec() const { return impl_->spec; }

void ColumnStream::begin_epoch(int epoch) { begin_epoch(epoch, 0); }

void ColumnStream::begin_epoch(int epoch, int last_epoch) {
  Impl& s = *impl_;
  if (epoch < 1)
    throw std::runtime_error(s.where + ": epochs are numbered from 1, found " + std::to_string(epoch));
  if (s.prefetched != epoch) s.start(epoch);
  s.prefetched = 0;
  s.ended = false;
  s.epoch = epoch;
  s.last_epoch = last_epoch;
  s.rows_out = 0;
}

void ColumnStream::prefetch(int epoch) {
  Impl& s = *impl_;
  if (epoch < 1)
    throw std::runtime_error(s.where + ": epochs are numbered from 1, found " + std::to_string(epoch));
  if (s.prefetched == epoch) return;
  s.start(epoch);
  s.prefetched = epoch;
  s.ended = true;  // rows again after begin_epoch(epoch)
}

void ColumnStream::cancel_prefetch() noexcept {
  if (impl_->prefetched != 0) impl_->end_reading();
}

int ColumnStream::prefetched() const { return impl_->prefetched; }
bool ColumnStream::reading() const { return impl_->producing.load(); }

void ColumnStream::Impl::start(int epoch) {
  Impl& s = *this;
  // First, what holds whatever throws below (the callers set these again once it returns).
  s.end_reading();
  const long long chunks = (s.range + s.spec.chunk_entries - 1) / s.spec.chunk_entries;
  std::vector<long long> order(chunks);
  std::iota(order.begin(), order.end(), 0);
  // Two generators from (seed, epoch, part): the chunks' order and the buffer's draws.
  std::seed_seq seq{static_cast<uint64_t>(s.spec.seed), static_cast<uint64_t>(epoch),
                    uint64_t{0x5eed} + static_cast<uint64_t>(s.spec.part)};
  std::mt19937_64 chunk_rng(seq);
  if (s.spec.shuffle) std::shuffle(order.begin(), order.end(), chunk_rng);
  s.rng.seed(chunk_rng());
  // The buffer never needs more rows than the stream has.
  const long long b = std::min(s.spec.shuffle_buffer, s.entries);
  s.buf_cap = b;
  s.buf_x.resize(b * s.features);
  s.buf_y.resize(b * s.target_width);
  s.buf_w.resize(b);
  s.buf_entry.resize(b);
  s.producing.store(true);
  try {
    s.thread = std::thread([&s, order] { s.produce(order); });
  } catch (...) {
    s.producing.store(false);
    throw;
  }
  s.source_done = false;
}

train::WeightSums ColumnStream::weight_sums() {
  Impl& s = *impl_;
  if (s.weight_total_known) return s.weight_total;
  if (!s.weight) return {static_cast<double>(s.entries), static_cast<double>(s.entries)};
  // A chain and reader of their own, with the weight's reader alone: the
  // epoch's reader has every column's branch in its cache, and its thread
  // may be running.
  TDirectory::TContext keep_current_directory;
  std::vector<std::unique_ptr<TChain>> friends;
  const auto chain = s.open_chain(friends);
  TTreeReader reader(chain.get());
  const auto weight = make_reader(s.where, reader, *s.weight_part);
  train::WeightSums total;
  for (long long e = s.spec.first_entry; e < s.spec.first_entry + s.range; ++e) {
    if (!s.spec.holdout.keeps(e)) continue;
    if (reader.SetEntry(e) != TTreeReader::kEntryValid || !weight->read()) {
      // Located in this chain (its offsets: every file's entries), not the
      // epoch's, which the reader thread may be moving through its files.
      chain->GetEntries();
      throw std::runtime_error(s.where + ": reading the weight column " + quote(s.spec.columns.weight) +
                               " at entry " + std::to_string(e) + " (" + locate(*chain, e) +
                               ") for the sum of the weights failed; is the file corrupt?");
    }
    float w = 0;
    weight->copy(&w, 1);
    s.check_finite(e, &w, 1, {s.spec.columns.weight}, "weight");
    total.sum += w;
    total.sum_abs += std::abs(w);
  }
  s.weight_total = total;
  s.weight_total_known = true;
  return total;
}

int ColumnStream::next(int batch, float* x, float* y, float* w, long long* entries) {
  Impl& s = *impl_;
  if (s.epoch == 0) throw std::runtime_error(s.where + ": call begin_epoch(1) before reading rows");
  if (s.ended) return 0;
  const int fw = s.features, tw = s.target_width;
  float wdummy = 0;
  long long edummy = 0;
  int n = 0;
  const long long cap = s.buf_cap;
  while (n < batch) {
    float* wo = w ? w + n : &wdummy;
    long long* eo = entries ? entries + n : &edummy;
    if (cap == 0) {
      // The current chunk's next rows at once.
      if (const long long k = std::min<long long>(batch - n, s.rows_left()); k > 0) {
        s.take(k, x + int64_t{n} * fw, y + int64_t{n} * tw, w ? w + n : nullptr,
               entries ? entries + n : nullptr);
        n += static_cast<int>(k);
        continue;
      }
      // The next chunk's first row (or the end, or the reader's error).
      if (!s.pull(x + int64_t{n} * fw, y + int64_t{n} * tw, wo, eo)) break;
      ++n;
      continue;
    }
    // Fill the buffer, then draw a row at random and put the next row in its place.
    while (s.buf_rows < cap && !s.source_done) {
      const long long r = s.buf_rows;
      // The current chunk's next rows at once.
      if (const long long k = std::min(cap - r, s.rows_left()); k > 0) {
        s.take(k, s.bx(r), s.by(r), &s.buf_w[r], &s.buf_entry[r]);
        s.set_buffer_rows(r + k);
        continue;
      }
      if (!s.pull(s.bx(r), s.by(r), &s.buf_w[r], &s.buf_entry[r])) break;
      s.set_buffer_rows(r + 1);
    }
    if (s.buf_rows == 0) break;
    // The buffer full (it is while the source lasts) and the current chunk
    // holding the next draws' replacements: those draws at once.
    if (const long long k = s.source_done ? 0 : std::min<long long>(batch - n, s.rows_left()); k > 1) {
      s.draw_full(k, x + int64_t{n} * fw, y + int64_t{n} * tw, w ? w + n : nullptr,
                  entries ? entries + n : nullptr);
      n += static_cast<int>(k);
      continue;
    }
    const long long j = static_cast<long long>(s.rng() % static_cast<uint64_t>(s.buf_rows));
    std::memcpy(x + int64_t{n} * fw, s.bx(j), sizeof(float) * fw);
    std::memcpy(y + int64_t{n} * tw, s.by(j), sizeof(float) * tw);
    *wo = s.buf_w[j];
    *eo = s.buf_entry[j];
    ++n;
    if (s.source_done || !s.pull(s.bx(j), s.by(j), &s.buf_w[j], &s.buf_entry[j])) {
      const long long last = s.buf_rows - 1;
      s.set_buffer_rows(last);
      if (j != last) {
        std::memcpy(s.bx(j), s.bx(last), sizeof(float) * fw);
        std::memcpy(s.by(j), s.by(last), sizeof(float) * tw);
        s.buf_w[j] = s.buf_w[last];
        s.buf_entry[j] = s.buf_entry[last];
      }
    }
  }
  s.rows_out += n;
  // The epoch's last rows: the next epoch's first chunks are read from here
  // on, while the caller trains on them and evaluates (begin_epoch(e, last)).
  if (n > 0 && s.rows_out == s.entries && s.epoch < s.last_epoch) prefetch(s.epoch + 1);
  return n;
}

ColumnStream::Stats ColumnStream::stats() const {
  const Impl& s = *impl_;
  Stats st;
  st.peak_rows_held = s.peak.load();
  st.rows_bound = (s.spec.prefetch_chunks + 2) * s.spec.chunk_entries + s.spec.shuffle_buffer;
  st.chunks_read = s.chunks_read.load();
  return st;
}

}  // namespace torchclad::rootdata
