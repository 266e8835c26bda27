// torchclad::Distributed (torchclad/distributed.h): loads libtorchclad_mpi.so
// on demand, so that libtorchclad_root.so, ROOT and the kernel host never
// load libmpi unless a launcher started the process; and rank_zero_writes.
#include "torchclad/distributed.h"

#include <dlfcn.h>

#include <exception>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>

#include "dist/communicator.hpp"
#include "dist/launcher.hpp"
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
