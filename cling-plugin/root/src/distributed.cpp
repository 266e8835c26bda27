// torchclad::Distributed (torchclad/distributed.h): loads libtorchclad_mpi.so
// on demand, so that libtorchclad_root.so, ROOT and the kernel host never
// load libmpi unless a launcher started the process; shards of training
// sets; and rank_zero_writes.
#include "torchclad/distributed.h"

#include <dlfcn.h>

#include <exception>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>

#include "dataset_impl.hpp"
#include "dist/communicator.hpp"
#include "dist/launcher.hpp"
#include "dist/row_shards.hpp"
#include "rank_zero_writes.hpp"

namespace torchclad {
namespace {

// The process's MPI session (libtorchclad_mpi's dist::MpiSession) behind
// the Distributed objects alive: MPI starts once and ends with the last one.
struct Process {
  std::mutex mutex;
  int sessions = 0;         // Distributed objects alive
  void* session = nullptr;  // non-null while MPI runs
  bool ended = false;       // MPI ran and ended: it cannot start again
  bool failed = false;      // some Distributed failed: do not finalise
  void (*fail)(void*) = nullptr;
  void (*close)(void*) = nullptr;
};

Process& process() {
  static Process p;
  return p;
}

// Beside this library (the build tree and an installed lib/ alike), else
// wherever the loader finds it.
std::string mpi_library() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&mpi_library), &info) && info.dli_fname) {
    const auto beside = std::filesystem::path(info.dli_fname).parent_path() / "libtorchclad_mpi.so";
    if (std::filesystem::exists(beside)) return beside.string();
  }
  return "libtorchclad_mpi.so";
}

template <class F>
F symbol(void* library, const char* name) {
  void* f = dlsym(library, name);
  if (!f) throw std::runtime_error(std::string("torchclad::Distributed: libtorchclad_mpi.so has no ") + name);
  return reinterpret_cast<F>(f);
}

void start_mpi(Process& p, int* argc, char*** argv) {
  const std::string path = mpi_library();
  // RTLD_GLOBAL: Open MPI loads its components as libraries of their own,
  // which need libmpi's and libopen-pal's symbols in the global scope.
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (!library)
    throw std::runtime_error("torchclad::Distributed: an MPI launcher started this process, but " + path +
                             " cannot be loaded: " + dlerror());
  auto open = symbol<void* (*)(int*, char***)>(library, "torchclad_mpi_session_open");
  p.fail = symbol<void (*)(void*)>(library, "torchclad_mpi_session_fail");
  p.close = symbol<void (*)(void*)>(library, "torchclad_mpi_session_close");
  try {
    p.session = open(argc, argv);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("torchclad::Distributed: ") + e.what());
  }
}

}  // namespace

Distributed::Distributed(Launcher launcher) { open(nullptr, nullptr, launcher); }

Distributed::Distributed(int& argc, char**& argv, Launcher launcher) { open(&argc, &argv, launcher); }

void Distributed::open(int* argc, char*** argv, Launcher launcher) {
  uncaught_ = std::uncaught_exceptions();
  auto& p = process();
  std::lock_guard<std::mutex> lock(p.mutex);
  if (!dist::launched_by_mpi()) {
    if (launcher == require_launcher)
      throw std::runtime_error(
          "torchclad::Distributed: data-parallel training was required, but no MPI launcher started "
          "this process (none of OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_SIZE, MPI_LOCALNRANKS is set); "
          "run it as `mpirun -np N root -b -q macro.C` or `mpirun -np N program`");
    ++p.sessions;  // one process: rank 0 of 1, MPI not loaded
    return;
  }
  if (p.ended)
    throw std::runtime_error(
        "torchclad::Distributed: MPI ended in this process when the previous torchclad::Distributed "
        "ended, and MPI starts only once per process; keep one Distributed alive for the whole job");
  if (!p.session) start_mpi(p, argc, argv);
  ++p.sessions;
}

Distributed::~Distributed() {
  auto& p = process();
  std::lock_guard<std::mutex> lock(p.mutex);
  if (failed_ || std::uncaught_exceptions() > uncaught_) p.failed = true;
  if (--p.sessions > 0 || !p.session) return;
  // After a failure MpiSession skips MPI_Finalize: the process should exit
  // with its error, and mpirun ends the others.
  if (p.failed) p.fail(p.session);
  p.close(p.session);
  p.session = nullptr;
  p.ended = true;
}

int Distributed::rank() const { return dist::world().rank(); }
int Distributed::size() const { return dist::world().size(); }

bool Distributed::active() const {
  auto& p = process();
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.session != nullptr;
}

void Distributed::fail() {
  failed_ = true;
  auto& p = process();
  std::lock_guard<std::mutex> lock(p.mutex);
  p.failed = true;
  if (p.session) p.fail(p.session);
}

Distributed::Rows Distributed::shard_rows(long long n) const {
  if (n < 0)
    throw std::runtime_error("Distributed::shard_rows: n must not be negative, found " + std::to_string(n));
  const auto s = dist::shard_of(n, rank(), size());
  return {s.begin, s.size()};
}

namespace {

// Rows [begin, begin + count) of d's rows (a copy), labelled as rows of a
// training set of `total`.
std::shared_ptr<Dataset::Impl> rows_of(const Dataset::Impl& d, int64_t begin, int64_t count, int64_t total) {
  auto impl = std::make_shared<Dataset::Impl>();
  impl->split = {d.split.images.narrow(0, begin, count).clone(),
                 d.split.labels.narrow(0, begin, count).clone()};
  if (d.targets.defined()) impl->targets = d.targets.narrow(0, begin, count).clone();
  impl->feature_names = d.feature_names;  // a fit on the shard records them
  impl->shard_begin = begin;
  impl->shard_total = total;
  return impl;
}

}  // namespace

Dataset Distributed::shard(const Dataset& whole) const {
  const auto& d = *whole.impl();
  if (d.shard_total > 0) throw std::runtime_error("Distributed::shard: the dataset is a shard already");
  const int64_t n = d.split.images.size(0);
  const auto rows = shard_rows(n);
  auto impl = rows_of(d, rows.first, rows.count, n);
  impl->weights = d.weights;  // all n: the loss factors and weighted sampling need them
  return Dataset(impl);
}

Dataset Distributed::shard(const Dataset& rows, long long total) const {
  const auto& d = *rows.impl();
  auto& w = dist::world();
  const int64_t held = d.split.images.size(0);
  const auto mine = shard_rows(total);
  // Every rank learns whether any holds other rows or differs in weights, so all throw or none.
  double v[3] = {d.shard_total > 0 || held != mine.count ? 1.0 : 0.0, d.weights.defined() ? 1.0 : 0.0, 1.0};
  w.allreduce_sum(v, 3);
  if (v[0] > 0)
    throw std::runtime_error("Distributed::shard: " + std::to_string(static_cast<long long>(v[0])) + " of " +
                             std::to_string(size()) + " ranks do not hold their rows of " +
                             std::to_string(total) + " (this rank, " + std::to_string(rank()) + ", holds " +
                             std::to_string(held) + " rows" + (d.shard_total > 0 ? ", already a shard" : "") +
                             ", and should hold rows [" + std::to_string(mine.first) + ", " +
                             std::to_string(mine.first + mine.count) + "): read them with shard_rows(" +
                             std::to_string(total) + ")");
  if (v[1] != 0 && v[1] != v[2])
    throw std::runtime_error("Distributed::shard: " + std::to_string(static_cast<long long>(v[1])) + " of " +
                             std::to_string(size()) +
                             " ranks hold per-event weights; every rank's rows must have them or none");
  auto impl = rows_of(d, 0, held, total);
  impl->shard_begin = mine.first;
  if (d.weights.defined()) {
    // The weights of all rows: each rank fills its rows, one sum gathers them (adding zeros is exact).
    auto all = torch::zeros({total}, torch::kFloat32);
    all.narrow(0, mine.first, held).copy_(d.weights.to(torch::kFloat32).reshape({-1}));
    w.allreduce_sum(all.data_ptr<float>(), total);
    impl->weights = all;
  }
  return Dataset(impl);
}

void rank_zero_writes(const std::function<void()>& write) {
  auto& w = dist::world();
  if (w.size() == 1) return write();
  std::exception_ptr failure;
  std::string message;
  if (w.rank() == 0) {
    try {
      write();
    } catch (const std::exception& e) {
      failure = std::current_exception();
      message = *e.what() ? e.what() : "an error without a message";
    }
  }
  // Rank 0's message (empty: written) reaches every rank: its length, then its bytes.
  int64_t length = static_cast<int64_t>(message.size());
  w.broadcast(&length, sizeof length, 0);
  message.resize(static_cast<size_t>(length));
  w.broadcast(message.data(), length, 0);
  if (failure) std::rethrow_exception(failure);
  if (length > 0) throw std::runtime_error("rank 0 could not write the file: " + message);
}

}  // namespace torchclad
