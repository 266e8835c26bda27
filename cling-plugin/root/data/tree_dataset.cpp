#include "data/tree_dataset.hpp"

#include <ROOT/RDF/RDatasetSpec.hxx>
#include <ROOT/RDF/RSampleInfo.hxx>
#include <ROOT/RVec.hxx>
#include <TDirectory.h>
#include <TFile.h>
#include <TKey.h>
#include <TNamed.h>
#include <TTree.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <vector>

#include "data/column_spec.hpp"
#include "partial_file.hpp"
#include "src/text.hpp"

namespace torchclad::rootdata {
namespace {

namespace fs = std::filesystem;

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

// ---------------------------------------------------------------- writing ---

void check_split(const std::string& where, const char* name, const data::MnistSplit& s, int64_t features) {
  auto bad = [&](const std::string& what) {
    throw std::runtime_error(where + ": " + name + " split: " + what);
  };
  if (!s.images.defined() || !s.labels.defined()) bad("images or labels tensor is undefined");
  if (s.images.dim() != 2 || s.images.size(1) != features)
    bad("images must be [N, " + std::to_string(features) + "] (rows*cols), found " +
        c10::str(s.images.sizes()));
  if (s.labels.dim() != 1 || s.labels.size(0) != s.images.size(0))
    bad("labels must be [" + std::to_string(s.images.size(0)) + "], found " + c10::str(s.labels.sizes()));
  if (!s.images.is_floating_point()) bad("images must be floating point (pixel / 255)");
  if (s.labels.is_floating_point() || s.labels.is_complex()) bad("labels must be integers");
  if (s.labels.numel() > 0) {
    const auto lo = s.labels.min().item<int64_t>(), hi = s.labels.max().item<int64_t>();
    if (lo < 0 || hi > std::numeric_limits<Int_t>::max())
      bad("labels must lie in [0, 2^31), found [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
}

long long write_split(const std::string& where, TFile& file, const char* name, const data::MnistSplit& s,
                      int64_t features) {
  file.cd();
  auto* tree = new TTree(name, (std::string("MNIST-format ") + name + " split").c_str());
  tree->SetDirectory(&file);  // owned and deleted by the file
  // Clusters of 5000 entries (~4 MB of pixels for 28x28): an implicit-MT read
  // gets a dozen tasks per 60000 entries instead of two.
  tree->SetAutoFlush(5000);
  std::vector<UChar_t> image(features);
  Int_t label = 0;
  const std::string leaf = "image[" + std::to_string(features) + "]/b";
  if (!tree->Branch("image", image.data(), leaf.c_str()) || !tree->Branch("label", &label, "label/I"))
    throw std::runtime_error(where + ": cannot create the branches of tree " + quote(name));
  // Bytes are made entry by entry: no second copy of the dataset in memory.
  const torch::Tensor images = s.images.to(torch::kFloat32).contiguous();
  const torch::Tensor labels = s.labels.to(torch::kInt64).contiguous();
  const float* px = images.data_ptr<float>();
  const int64_t* lb = labels.data_ptr<int64_t>();
  const int64_t n = labels.size(0);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = px + i * features;
    for (int64_t j = 0; j < features; ++j) {
      if (!(row[j] >= 0.0f && row[j] <= 1.0f))  // also NaN
        throw std::runtime_error(where + ": " + name + " split: pixel " + std::to_string(j) + " of image " +
                                 std::to_string(i) + " is " + std::to_string(row[j]) +
                                 ", expected a value in [0, 1]");
      image[j] = static_cast<UChar_t>(std::lround(static_cast<double>(row[j]) * 255.0));
    }
    label = static_cast<Int_t>(lb[i]);
    if (tree->Fill() < 0)
      throw std::runtime_error(where + ": writing entry " + std::to_string(i) + " of tree " + quote(name) +
                               " failed");
  }
  if (tree->Write() <= 0 && n > 0)
    throw std::runtime_error(where + ": writing tree " + quote(name) + " failed");
  return n;
}

// ---------------------------------------------------------------- reading ---

enum class Elem { kUChar, kFloat, kDouble };
enum class Container { kRVec, kStdVector };

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(' '), e = s.find_last_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::optional<Elem> elem_of(const std::string& t) {
  if (t == "UChar_t" || t == "unsigned char" || t == "uint8_t" || t == "std::uint8_t") return Elem::kUChar;
  if (t == "Float_t" || t == "float") return Elem::kFloat;
  if (t == "Double_t" || t == "double") return Elem::kDouble;
  return std::nullopt;
}

bool is_number_scalar(const std::string& t) {
  static const char* names[] = {"Char_t",         "UChar_t",
                                "Short_t",        "UShort_t",
                                "Int_t",          "UInt_t",
                                "Long_t",         "ULong_t",
                                "Long64_t",       "ULong64_t",
                                "Float_t",        "Double_t",
                                "Bool_t",         "char",
                                "short",          "int",
                                "long",           "float",
                                "double",         "bool",
                                "long long",      "unsigned char",
                                "unsigned short", "unsigned int",
                                "unsigned long",  "unsigned long long",
                                "signed char",    "Float16_t",
                                "Double32_t"};
  return std::find(std::begin(names), std::end(names), t) != std::end(names);
}

struct ImageType {
  Elem elem;
  Container container;
};

// "ROOT::VecOps::RVec<UChar_t>", "vector<float>", "std::vector<double,allocator<double> >", ...
std::optional<ImageType> parse_image_type(const std::string& type, bool defined) {
  const auto lt = type.find('<'), gt = type.rfind('>');
  if (lt == std::string::npos || gt == std::string::npos || gt < lt) return std::nullopt;
  const std::string outer = trim(type.substr(0, lt));
  std::string inner = type.substr(lt + 1, gt - lt - 1);
  if (const auto comma = inner.find(','); comma != std::string::npos) inner.resize(comma);
  const auto elem = elem_of(trim(inner));
  if (!elem) return std::nullopt;
  if (outer == "ROOT::VecOps::RVec" || outer == "ROOT::RVec" || outer == "RVec")
    return ImageType{*elem, Container::kRVec};
  if (outer == "vector" || outer == "std::vector")
    // A dataset column (a TTree branch) of std::vector type is read as an RVec;
    // a Define'd one must be read as its own type.
    return ImageType{*elem, defined ? Container::kStdVector : Container::kRVec};
  return std::nullopt;
}

constexpr uint64_t kBeginBits = 48;
constexpr uint64_t kBeginMask = (uint64_t{1} << kBeginBits) - 1;
constexpr const char* kTaskColumn = "torchclad_task_";
constexpr const char* kLabelColumn = "torchclad_label_";

// The samples (file/tree names) the per-sample callback has seen, numbered
// in the order they were first seen.
struct SampleRegistry {
  std::mutex mutex;
  std::vector<std::string> ids;

  uint64_t index(const ROOT::RDF::RSampleInfo& info) {
    std::string id = info.Empty() ? std::string() : info.AsString();
    // An RDataFrame(n) without input names each task's range as a sample
    // ("Empty source, range: {75, 150}"): one sample, ordered by the range's
    // first entry, not by that text ("{150, 225}" sorts before "{75, 150}").
    if (id.rfind("Empty source", 0) == 0) id = "Empty source";
    std::lock_guard<std::mutex> lock(mutex);
    auto it = std::find(ids.begin(), ids.end(), id);
    if (it == ids.end()) it = ids.insert(ids.end(), id);
    return static_cast<uint64_t>(it - ids.begin());
  }
};

// Everything the event loop writes, shared by its slots.
struct Loop {
  // Direct mode (read_tree): entries [first, first + n) of one tree, each
  // written at row (entry - first) of outputs allocated once, on the first entry.
  bool direct = false;
  long long first = 0, n = 0;
  std::once_flag alloc_once;
  int64_t features = -1;
  long long features_entry = -1;
  torch::Tensor images, labels;
  float* image_out = nullptr;
  int64_t* label_out = nullptr;

  // Samples (files/trees) seen by the per-sample callback, by index.
  std::shared_ptr<SampleRegistry> samples = std::make_shared<SampleRegistry>();

  struct Slot {
    uint64_t task = ~uint64_t{0};  // (sample index << 48) | first entry of the task's range
    uint64_t base = 0;             // rdfentry_ of the task's first entry
    long long processed = 0;
    // The first problem this slot saw (smallest entry in direct mode).
    long long bad_length_entry = -1, bad_length = 0;
    long long bad_label_entry = -1, bad_label = 0;  // < 0 or > kMaxLabel
    long long out_of_range_entry = -1;
    // Gather mode (read_rdataframe): rows in this slot's processing order.
    int64_t features = -1;
    uint64_t features_rdfentry = 0;
    // Image rows in blocks of about 4 MB, allocated as they fill: nothing is
    // reallocated or copied while the loop runs.
    int64_t block_rows = 0;
    std::vector<std::unique_ptr<float[]>> blocks;
    std::vector<int64_t> labels;
    float* row(size_t k) const {
      return blocks[k / block_rows].get() + static_cast<int64_t>(k % block_rows) * features;
    }
    struct Key {
      uint64_t task, rdfentry;
    };
    std::vector<Key> keys;
  };
  std::vector<Slot> slots;
};

template <typename T>
inline void convert(const T* src, float* dst, int64_t n) {
  if constexpr (std::is_same_v<T, UChar_t>) {
    // Exactly what load_mnist computes: float(byte) / 255.
    for (int64_t j = 0; j < n; ++j) dst[j] = static_cast<float>(src[j]) / 255.0f;
  } else {
    for (int64_t j = 0; j < n; ++j) dst[j] = static_cast<float>(src[j]);
  }
}

void keep_min(long long& slot_entry, long long entry, long long& slot_value, long long value) {
  if (slot_entry < 0 || entry < slot_entry) slot_entry = entry, slot_value = value;
}

template <typename Img, typename T>
void run_loop(ROOT::RDF::RNode node, const std::string& image_column, Loop& loop) {
  node.ForeachSlot(
      [&loop](unsigned int slot, const Img& img, Long64_t label, ULong64_t rdfentry, ULong64_t task) {
        Loop::Slot& s = loop.slots[slot];
        if (task != s.task) s.task = task, s.base = rdfentry;
        ++s.processed;
        const int64_t len = static_cast<int64_t>(img.size());
        if (loop.direct) {
          // No filter upstream: the entries of a task are consecutive.
          const long long entry = static_cast<long long>((task & kBeginMask) + (rdfentry - s.base));
          std::call_once(loop.alloc_once, [&] {
            loop.features = len;
            loop.features_entry = entry;
            loop.images = torch::empty({loop.n, len}, torch::kFloat32);
            loop.labels = torch::empty({loop.n}, torch::kInt64);
            loop.image_out = loop.images.data_ptr<float>();
            loop.label_out = loop.labels.data_ptr<int64_t>();
          });
          if (len != loop.features) {
            keep_min(s.bad_length_entry, entry, s.bad_length, len);
            return;
          }
          if (label < 0 || label > kMaxLabel) keep_min(s.bad_label_entry, entry, s.bad_label, label);
          const long long row = entry - loop.first;
          if (row < 0 || row >= loop.n) {
            long long unused = 0;
            keep_min(s.out_of_range_entry, entry, unused, 0);
            return;
          }
          convert<T>(img.data(), loop.image_out + row * len, len);
          loop.label_out[row] = label;
        } else {
          if (s.features < 0) {
            s.features = len, s.features_rdfentry = rdfentry;
            s.block_rows = std::max<int64_t>(1, (int64_t{1} << 20) / std::max<int64_t>(1, len));
          }
          if (len != s.features) {
            keep_min(s.bad_length_entry, static_cast<long long>(rdfentry), s.bad_length, len);
            return;
          }
          if (label < 0 || label > kMaxLabel)
            keep_min(s.bad_label_entry, static_cast<long long>(rdfentry), s.bad_label, label);
          const size_t k = s.labels.size();
          if (k % s.block_rows == 0)
            s.blocks.push_back(std::make_unique_for_overwrite<float[]>(s.block_rows * len));
          convert<T>(img.data(), s.row(k), len);
          s.labels.push_back(label);
          s.keys.push_back({task, rdfentry});
        }
      },
      {image_column, kLabelColumn, "rdfentry_", kTaskColumn});
}

template <typename T>
ROOT::RDF::RNode define_label(ROOT::RDF::RNode node, const std::string& column) {
  // An unsigned value past Long64_t's range stays large (refused as too large), not negative.
  return node.Define(kLabelColumn,
                     [](T v) {
                       if constexpr (std::is_unsigned_v<T>)
                         if (v > static_cast<T>(std::numeric_limits<Long64_t>::max()))
                           return std::numeric_limits<Long64_t>::max();
                       return static_cast<Long64_t>(v);
                     },
                     {column});
}

// The label column as Long64_t, whatever integer type it has.
std::optional<ROOT::RDF::RNode> with_label(ROOT::RDF::RNode node, const std::string& column,
                                           const std::string& type) {
  if (type == "Int_t" || type == "int") return define_label<int>(node, column);
  if (type == "UInt_t" || type == "unsigned int") return define_label<unsigned int>(node, column);
  if (type == "Short_t" || type == "short") return define_label<short>(node, column);
  if (type == "UShort_t" || type == "unsigned short") return define_label<unsigned short>(node, column);
  if (type == "Char_t" || type == "char") return define_label<char>(node, column);
  if (type == "signed char") return define_label<signed char>(node, column);
  if (type == "UChar_t" || type == "unsigned char") return define_label<unsigned char>(node, column);
  if (type == "Long64_t" || type == "long long") return define_label<long long>(node, column);
  if (type == "ULong64_t" || type == "unsigned long long")
    return define_label<unsigned long long>(node, column);
  if (type == "Long_t" || type == "long") return define_label<long>(node, column);
  if (type == "ULong_t" || type == "unsigned long") return define_label<unsigned long>(node, column);
  if (type == "Bool_t" || type == "bool") return define_label<bool>(node, column);
  return std::nullopt;
}

// Checks the columns, then runs one event loop filling `loop`.
void read_columns(const std::string& where, ROOT::RDF::RNode node, const std::string& image_column,
                  const std::string& label_column, Loop& loop, const std::string& reading = "") {
  std::vector<std::string> columns, defined;
  std::string image_type, label_type;
  try {
    columns = node.GetColumnNames();
    defined = node.GetDefinedColumnNames();
    auto has = [&](const std::string& c) {
      return std::find(columns.begin(), columns.end(), c) != columns.end();
    };
    for (const std::string* c : {&image_column, &label_column})
      if (!has(*c)) {
        std::vector<std::string> visible;
        for (const auto& name : columns)
          if (name.rfind('#', 0) != 0) visible.push_back(name);  // not the '#x' size columns
        // "jet_pt[:2]": a range, which only the column readers take.
        const auto open = c->find('[');
        const std::string whole = open == std::string::npos ? "" : c->substr(0, open);
        const std::string range_hint =
            whole.empty()
                ? ""
                : "; this reader takes whole array columns (" + quote(whole) + "): ranges such as " +
                      quote(*c) + " are for dataset_from_columns, DataLoader and StreamDataset";
        throw std::runtime_error("no column " + quote(*c) + range_hint +
                                 "; the columns are: " + join(visible));
      }
    image_type = node.GetColumnType(image_column);
    label_type = node.GetColumnType(label_column);
  } catch (const std::exception& e) {
    throw std::runtime_error(where + ": " + e.what());
  }

  const bool image_defined = std::find(defined.begin(), defined.end(), image_column) != defined.end();
  const auto img = parse_image_type(image_type, image_defined);
  if (!img) {
    if (is_number_scalar(image_type))
      throw std::runtime_error(where + ": image column " + quote(image_column) + " holds one " + image_type +
                               " per entry; expected an array per entry (a fixed or variable-size "
                               "array, RVec or std::vector of UChar_t, float or double)");
    throw std::runtime_error(where + ": image column " + quote(image_column) + " has type " + image_type +
                             "; expected an array, RVec or std::vector of UChar_t (bytes, scaled "
                             "by 1/255), float or double");
  }
  std::optional<ROOT::RDF::RNode> labelled;
  try {
    labelled = with_label(node, label_column, label_type);
  } catch (const std::exception& e) {
    throw std::runtime_error(where + ": label column " + quote(label_column) + ": " + e.what());
  }
  if (!labelled)
    throw std::runtime_error(where + ": label column " + quote(label_column) + " has type " + label_type +
                             "; expected one integer per entry (Int_t, Long64_t, "
                             "UChar_t, ...)");

  try {
    // RDataFrame keeps every Define of a graph, this callback included, until
    // the RDataFrame itself is destroyed, and calls it at the start of each
    // sample in every later event loop of the graph. So it must not refer to
    // this function's locals: it holds the registry weakly, and does nothing
    // once this read is over (it captured `loop` by reference once, and later
    // Snapshots and Counts on the user's graph locked a destroyed mutex).
    ROOT::RDF::RNode tasks = labelled->DefinePerSample(
        kTaskColumn,
        [registry = std::weak_ptr<SampleRegistry>(loop.samples)](
            unsigned int, const ROOT::RDF::RSampleInfo& info) -> ULong64_t {
          const auto samples = registry.lock();
          if (!samples) return 0;  // a later event loop, not this read's
          const uint64_t begin = info.EntryRange().first;
          if (begin > kBeginMask)
            throw std::runtime_error("entry number " + std::to_string(begin) + " too large");
          return (samples->index(info) << kBeginBits) | begin;
        });
    loop.slots = std::vector<Loop::Slot>(tasks.GetNSlots());
    using ROOT::RVec;
    const bool vec = img->container == Container::kStdVector;
    switch (img->elem) {
      case Elem::kUChar:
        vec ? run_loop<std::vector<UChar_t>, UChar_t>(tasks, image_column, loop)
            : run_loop<RVec<UChar_t>, UChar_t>(tasks, image_column, loop);
        break;
      case Elem::kFloat:
        vec ? run_loop<std::vector<float>, float>(tasks, image_column, loop)
            : run_loop<RVec<float>, float>(tasks, image_column, loop);
        break;
      case Elem::kDouble:
        vec ? run_loop<std::vector<double>, double>(tasks, image_column, loop)
            : run_loop<RVec<double>, double>(tasks, image_column, loop);
        break;
    }
  } catch (const std::exception& e) {
    throw std::runtime_error(
        where + ": reading " +
        (reading.empty() ? "columns " + quote(image_column) + " and " + quote(label_column) : reading) +
        " failed (is the file corrupt?): " + e.what());
  }

  // Problems seen by the slots, the one at the smallest entry first.
  const char* entry_word = loop.direct ? "entry " : "the entry with rdfentry_ ";
  long long entry = -1, value = 0;
  for (const auto& s : loop.slots)
    if (s.out_of_range_entry >= 0)
      throw std::runtime_error(where + ": internal error: entry " + std::to_string(s.out_of_range_entry) +
                               " is outside the range read");
  for (const auto& s : loop.slots)
    if (s.bad_length_entry >= 0) keep_min(entry, s.bad_length_entry, value, s.bad_length);
  if (entry >= 0) {
    int64_t expected = loop.features;
    std::string ref = loop.direct ? "entry " + std::to_string(loop.features_entry) : "";
    if (!loop.direct)
      for (const auto& s : loop.slots)
        if (s.features >= 0 && s.features != value) {
          expected = s.features;
          ref = entry_word + std::to_string(s.features_rdfentry);
          break;
        }
    throw std::runtime_error(where + ": image arrays in column " + quote(image_column) +
                             " have different lengths: " + entry_word + std::to_string(entry) + " has " +
                             std::to_string(value) + " values, " + ref + " has " + std::to_string(expected));
  }
  if (!loop.direct) {
    // Lengths may still differ between slots.
    int64_t f = -1;
    uint64_t f_entry = 0;
    for (const auto& s : loop.slots) {
      if (s.features < 0) continue;
      if (f >= 0 && s.features != f)
        throw std::runtime_error(where + ": image arrays in column " + quote(image_column) +
                                 " have different lengths: " + entry_word +
                                 std::to_string(s.features_rdfentry) + " has " + std::to_string(s.features) +
                                 " values, " + entry_word + std::to_string(f_entry) + " has " +
                                 std::to_string(f));
      f = s.features, f_entry = s.features_rdfentry;
    }
    loop.features = f;
  }
  entry = -1;
  for (const auto& s : loop.slots)
    if (s.bad_label_entry >= 0) keep_min(entry, s.bad_label_entry, value, s.bad_label);
  if (entry >= 0)
    throw std::runtime_error(where + ": " +
                             label_range_error(label_column, value, entry_word + std::to_string(entry)));
  if (loop.features == 0)
    throw std::runtime_error(where + ": image column " + quote(image_column) + " holds empty arrays");
}

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": " + what);
}

// Opens `file` for reading; the file, or an error naming it.
std::unique_ptr<TFile> open_root_file(const std::string& where, const std::string& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) fail(where, "no such file: " + quote(file));
  if (fs::is_directory(file, ec)) fail(where, quote(file) + " is a directory, not a ROOT file");
  std::unique_ptr<TFile> f(TFile::Open(file.c_str(), "READ"));
  if (!f || f->IsZombie())
    fail(where, quote(file) +
                    " is not a ROOT file, or is truncated or corrupt, or unreadable (TFile could "
                    "not open it)");
  if (f->TestBit(TFile::kRecovered))
    fail(where, quote(file) +
                    " is truncated or corrupt, or was not closed properly by its writer (ROOT had "
                    "to recover its contents); write it again");
  return f;
}

std::string file_contents(TFile& f) {
  std::vector<std::string> items;
  if (TList* keys = f.GetListOfKeys())
    for (TObject* o : *keys) {
      auto* key = static_cast<TKey*>(o);
      const std::string item = std::string(key->GetName()) + " (" + key->GetClassName() + ")";
      if (std::find(items.begin(), items.end(), item) == items.end()) items.push_back(item);
    }
  return items.empty() ? "nothing" : join(items);
}

long long tree_entries(const std::string& where, const std::string& file, const std::string& tree) {
  TDirectory::TContext keep_current_directory;
  auto f = open_root_file(where, file);
  TObject* obj = f->Get(tree.c_str());
  if (!obj) fail(where, "no tree " + quote(tree) + " in " + quote(file) + "; it holds: " + file_contents(*f));
  auto* t = dynamic_cast<TTree*>(obj);
  if (!t) fail(where, quote(tree) + " in " + quote(file) + " is a " + obj->ClassName() + ", not a TTree");
  return t->GetEntries();
}

}  // namespace

void check_tree(const std::string& where, const std::string& file, const std::string& tree) {
  tree_entries(where, file, tree);
}

long long tree_entry_count(const std::string& where, const std::string& file, const std::string& tree) {
  return tree_entries(where, file, tree);
}

long long write_mnist_root(const data::MnistDataset& ds, const std::string& path, int compression) {
  const std::string where = "write_mnist_root: " + quote(path);
  if (ds.rows <= 0 || ds.cols <= 0)
    fail(where, "the image shape must be positive, found " + std::to_string(ds.rows) + "x" +
                    std::to_string(ds.cols));
  const int64_t features = ds.rows * ds.cols;
  check_split(where, "train", ds.train, features);
  check_split(where, "test", ds.test, features);

  const std::string partial = support::partial_path(path);
  TDirectory::TContext keep_current_directory;
  std::unique_ptr<TFile> f(
      TFile::Open(partial.c_str(), "RECREATE", "torchclad: MNIST-format dataset", compression));
  if (!f || f->IsZombie()) {
    std::error_code ec;
    fs::remove(partial, ec);
    const fs::path dir = fs::path(path).parent_path();
    fail(where, "cannot create the file" + (!dir.empty() && !fs::is_directory(dir, ec)
                                                ? " (directory " + quote(dir.string()) + " does not exist)"
                                                : std::string(" (is its directory writable?)")));
  }
  long long entries = 0;
  try {
    entries += write_split(where, *f, "train", ds.train, features);
    entries += write_split(where, *f, "test", ds.test, features);
    TNamed shape("mnist_shape", (std::to_string(ds.rows) + "x" + std::to_string(ds.cols)).c_str());
    if (f->WriteTObject(&shape) <= 0) fail(where, "writing mnist_shape failed");
    if (f->TestBit(TFile::kWriteError)) fail(where, "write error (disk full?)");
    f->Close();
    if (f->TestBit(TFile::kWriteError)) fail(where, "write error while closing (disk full?)");
  } catch (...) {
    f.reset();
    std::error_code ec;
    fs::remove(partial, ec);
    throw;
  }
  f.reset();
  std::error_code ec;
  fs::rename(partial, path, ec);
  if (ec) {
    fs::remove(partial, ec);
    fail(where, "cannot rename the partial file " + quote(partial) + " to it: " + ec.message());
  }
  return entries;
}

std::pair<long long, long long> read_mnist_shape(const std::string& file) {
  const std::string where = "read_mnist_shape";
  TDirectory::TContext keep_current_directory;
  auto f = open_root_file(where, file);
  auto* shape = dynamic_cast<TNamed*>(f->Get("mnist_shape"));
  if (!shape) fail(where, quote(file) + " has no TNamed 'mnist_shape'");
  long long rows = 0, cols = 0;
  char x = 0;
  const std::string title = shape->GetTitle();
  if (std::sscanf(title.c_str(), "%lld%c%lld", &rows, &x, &cols) != 3 || x != 'x' || rows <= 0 || cols <= 0)
    fail(where, quote(file) + ": mnist_shape is " + quote(title) + ", expected '<rows>x<cols>'");
  return {rows, cols};
}

data::MnistSplit read_tree(const std::string& file, const std::string& tree, const std::string& image_column,
                           const std::string& label_column, long long first, long long count) {
  const std::string where = "read_tree: " + quote(file) + " tree " + quote(tree);
  const long long entries = tree_entries("read_tree", file, tree);
  if (entries == 0) fail(where, "the tree is empty (0 entries)");
  if (first < 0) fail(where, "the first entry must be >= 0, got " + std::to_string(first));
  if (count == 0) fail(where, "empty range: count is 0");
  if (first >= entries)
    fail(where, "range past the end: first entry " + std::to_string(first) + ", but the tree has " +
                    std::to_string(entries) + " entries");
  if (count > 0 && count > entries - first)
    fail(where, "range past the end: entries [" + std::to_string(first) + ", " +
                    std::to_string(first + count) + ") requested, but the tree has " +
                    std::to_string(entries) + " entries");
  const long long n = count < 0 ? entries - first : count;

  Loop loop;
  loop.direct = true;
  loop.first = first;
  loop.n = n;
  std::optional<ROOT::RDataFrame> df;
  try {
    ROOT::RDF::Experimental::RDatasetSpec spec;
    spec.AddSample({"torchclad", tree, file});
    spec.WithGlobalRange({first, first + n});
    df.emplace(spec);
  } catch (const std::exception& e) {
    fail(where, std::string("RDataFrame could not read it: ") + e.what());
  }
  read_columns(where, *df, image_column, label_column, loop);
  long long processed = 0;
  for (const auto& s : loop.slots) processed += s.processed;
  if (processed != n || !loop.images.defined())
    fail(where, "read " + std::to_string(processed) + " entries, expected " + std::to_string(n) +
                    " (is the file corrupt?)");
  return {loop.images, loop.labels};
}

data::MnistSplit read_rdataframe(ROOT::RDF::RNode df, const std::string& image_column,
                                 const std::string& label_column, const std::string& where,
                                 const std::string& reading) {
  Loop loop;
  read_columns(where, df, image_column, label_column, loop, reading);

  // Rows in dataset order: sample (file/tree name), then entry range of the
  // task, then rdfentry_ (consecutive within a task).
  const std::vector<std::string>& samples = loop.samples->ids;
  std::vector<uint64_t> rank(samples.size());
  {
    std::vector<size_t> order(samples.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return samples[a] < samples[b]; });
    for (size_t r = 0; r < order.size(); ++r) rank[order[r]] = r;
  }
  struct Row {
    uint64_t sample, begin, rdfentry;
    uint32_t slot;
    uint64_t index;  // in the slot's buffers
  };
  std::vector<Row> rows;
  size_t total = 0;
  for (const auto& s : loop.slots) total += s.keys.size();
  if (total == 0) fail(where, "no entries selected: the dataset is empty or every entry was filtered out");
  rows.reserve(total);
  for (uint32_t slot = 0; slot < loop.slots.size(); ++slot) {
    const auto& keys = loop.slots[slot].keys;
    for (uint64_t i = 0; i < keys.size(); ++i)
      rows.push_back(
          {rank[keys[i].task >> kBeginBits], keys[i].task & kBeginMask, keys[i].rdfentry, slot, i});
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::tie(a.sample, a.begin, a.rdfentry) < std::tie(b.sample, b.begin, b.rdfentry);
  });
  const int64_t n = static_cast<int64_t>(total), features = loop.features;
  torch::Tensor images = torch::empty({n, features}, torch::kFloat32);
  torch::Tensor labels = torch::empty({n}, torch::kInt64);
  float* img = images.data_ptr<float>();
  int64_t* lab = labels.data_ptr<int64_t>();
  for (int64_t r = 0; r < n; ++r) {
    const auto& s = loop.slots[rows[r].slot];
    std::memcpy(img + r * features, s.row(rows[r].index), features * sizeof(float));
    lab[r] = s.labels[rows[r].index];
  }
  return {images, labels};
}

}  // namespace torchclad::rootdata
