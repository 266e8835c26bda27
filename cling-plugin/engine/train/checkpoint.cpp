#include "train/checkpoint.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "dist/communicator.hpp"
#include "partial_file.hpp"

namespace torchclad::train {
namespace {

constexpr char kMagic[8] = {'T', 'C', 'L', 'A', 'D', 'C', 'K', 'P'};
constexpr uint32_t kVersion = 1;

struct Writer {
  std::vector<char> bytes;
  template <class T>
  void put(const T& v) {
    const char* p = reinterpret_cast<const char*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof v);
  }
  void put(const std::string& s) {
    put(static_cast<uint32_t>(s.size()));
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void put(const float* v, int64_t n) {
    put(n);
    const char* p = reinterpret_cast<const char*>(v);
    bytes.insert(bytes.end(), p, p + sizeof(float) * n);
  }
};

struct Reader {
  const std::vector<char>& bytes;
  const std::string& path;
  size_t at = 0;
  void need(size_t n) {
    TORCH_CHECK(at + n <= bytes.size(), "checkpoint '", path, "' is truncated (", bytes.size(),
                " bytes, needed ", at + n, ")");
  }
  template <class T>
  T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, bytes.data() + at, sizeof v);
    at += sizeof v;
    return v;
  }
  std::string get_string() {
    const auto n = get<uint32_t>();
    need(n);
    std::string s(bytes.data() + at, n);
    at += n;
    return s;
  }
  std::vector<float> get_floats() {
    const auto n = get<int64_t>();
    TORCH_CHECK(n >= 0, "checkpoint '", path, "' is corrupt (negative length)");
    need(sizeof(float) * n);
    std::vector<float> v(n);
    std::memcpy(v.data(), bytes.data() + at, sizeof(float) * n);
    at += sizeof(float) * n;
    return v;
  }
};

std::vector<char> serialize(const RunSpec& spec, int epoch, DefinedModel& model, const OptimizerAccess& opt) {
  Writer w;
  w.bytes.insert(w.bytes.end(), kMagic, kMagic + 8);
  w.put(kVersion);
  w.put(model.definition().name);
  w.put(spec.optimizer);
  w.put(static_cast<int32_t>(epoch));
  w.put(static_cast<uint64_t>(spec.seed));
  w.put(static_cast<int64_t>(spec.batch) * dist::world().size());
  w.put(model.params().data_ptr<float>(), model.params().numel());
  const auto state = opt.state();
  w.put(state.steps);
  w.put(static_cast<uint32_t>(state.buffers.size()));
  for (const auto& b : state.buffers) w.put(b.data(), static_cast<int64_t>(b.size()));
  return w.bytes;
}

void write_file(const std::string& path, const std::vector<char>& bytes) {
  const std::string tmp = support::partial_path(path);
  {
    std::ofstream f(tmp, std::ios::binary);
    TORCH_CHECK(f, "cannot write checkpoint '", path, "': ", std::strerror(errno));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    f.close();
    if (!f) {
      const std::string reason = std::strerror(errno);
      std::remove(tmp.c_str());
      TORCH_CHECK(false, "writing checkpoint '", path, "' failed: ", reason);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    TORCH_CHECK(false, "cannot write checkpoint '", path, "' (renaming '", tmp, "' to it): ", ec.message());
  }
}

// Rank 0 reads the file and sends it to every rank; empty when there is none.
std::vector<char> read_on_root(const std::string& path) {
  auto& w = dist::world();
  std::vector<char> bytes;
  int64_t size = -1;
  if (w.rank() == 0 && std::filesystem::exists(path)) {
    std::ifstream f(path, std::ios::binary);
    if (f) {
      bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
      size = static_cast<int64_t>(bytes.size());
    } else {
      size = -2;
    }
  }
  w.broadcast(&size, sizeof size, 0);
  TORCH_CHECK(size != -2, "cannot read checkpoint '", path, "' (on rank 0)");
  if (size < 0) return {};
  bytes.resize(size);
  w.broadcast(bytes.data(), size, 0);
  return bytes;
}

}  // namespace

void use_checkpoints(RunSpec& spec, const CheckpointOptions& o, DefinedModel& model,
                     const OptimizerAccess& optimizer, std::ostream& log) {
  if (o.path.empty()) {
    TORCH_CHECK(!o.resume, "--resume needs --checkpoint FILE (the checkpoint to continue from)");
    return;
  }
  if (o.resume) {
    const auto bytes = read_on_root(o.path);
    if (bytes.empty()) {
      log << "no checkpoint at " << o.path << " yet: starting at epoch 1\n";
    } else {
      Reader r{bytes, o.path};
      r.need(8);
      TORCH_CHECK(std::memcmp(bytes.data(), kMagic, 8) == 0, "'", o.path, "' is not a torchclad checkpoint");
      r.at = 8;
      const auto version = r.get<uint32_t>();
      TORCH_CHECK(version == kVersion, "checkpoint '", o.path, "' has version ", version, ", expected ",
                  kVersion);
      const auto name = r.get_string(), kind = r.get_string();
      const auto epoch = r.get<int32_t>();
      const auto seed = r.get<uint64_t>();
      const auto global_batch = r.get<int64_t>();
      const int64_t this_batch = int64_t{spec.batch} * dist::world().size();
      TORCH_CHECK(name == model.definition().name, "checkpoint '", o.path, "' holds model '", name,
                  "', this run trains '", model.definition().name, "'");
      TORCH_CHECK(kind == spec.optimizer, "checkpoint '", o.path, "' was written with optimizer ", kind,
                  ", this run uses ", spec.optimizer);
      TORCH_CHECK(seed == spec.seed, "checkpoint '", o.path, "' was written with seed ", seed,
                  ", this run has seed ", spec.seed, " (the batch order would differ)");
      TORCH_CHECK(global_batch == this_batch, "checkpoint '", o.path, "' was written with a global batch of ",
                  global_batch, " (ranks x batch), this run's is ", this_batch);
      TORCH_CHECK(epoch < spec.epochs, "checkpoint '", o.path, "' is at epoch ", epoch, " and ",
                  o.epochs_name, " is ", spec.epochs, ": nothing left to train (raise ", o.epochs_name, ")");
      const auto params = r.get_floats();
      TORCH_CHECK(static_cast<int64_t>(params.size()) == model.params().numel(), "checkpoint '", o.path,
                  "' has ", params.size(), " parameters, the model ", model.params().numel());
      FlatOptimizerState state;
      state.steps = r.get<int64_t>();
      const auto buffers = r.get<uint32_t>();
      for (uint32_t b = 0; b < buffers; ++b) state.buffers.push_back(r.get_floats());
      optimizer.load(state);
      std::memcpy(model.params().data_ptr<float>(), params.data(), sizeof(float) * params.size());
      spec.first_epoch = epoch + 1;
      log << "resuming from " << o.path << " after epoch " << epoch << " (" << state.steps << " steps)\n";
    }
  }
  const std::string path = o.path;
  spec.after_epoch = [spec, path, &model, optimizer](int epoch) {
    if (dist::is_root()) write_file(path, serialize(spec, epoch, model, optimizer));
  };
}

}  // namespace torchclad::train
