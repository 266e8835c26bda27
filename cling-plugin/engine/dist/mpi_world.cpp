#include "dist/mpi_world.hpp"

#include <mpi.h>

#include <errno.h>  // program_invocation_short_name
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdio>
#include <thread>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "dist/communicator.hpp"

namespace torchclad::dist {
namespace {

// A duplicate of MPI_COMM_WORLD for the barrier of failing ranks: it never
// matches a collective of the training on the world communicator.
MPI_Comm error_comm = MPI_COMM_NULL;

void check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw std::runtime_error(std::string(call) + " failed: " + std::string(text, len));
}

class MpiWorld final : public Communicator {
 public:
  MpiWorld() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void allreduce_sum(float* data, int64_t n) override { reduce(data, n, MPI_FLOAT); }
  void allreduce_sum(double* data, int64_t n) override { reduce(data, n, MPI_DOUBLE); }
  void broadcast(void* data, int64_t bytes, int root) override {
    auto* p = static_cast<char*>(data);
    for (int64_t done = 0; done < bytes;) {  // MPI counts are int
      const int chunk = static_cast<int>(std::min<int64_t>(bytes - done, INT_MAX));
      check(MPI_Bcast(p + done, chunk, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
      done += chunk;
    }
  }
  void alltoallv(const float* send, const int* send_rows, float* recv, const int* recv_rows,
                 int row_floats) override {
    // Counts and displacements in rows of a contiguous type, so that they
    // stay within MPI's int for any row width.
    MPI_Datatype row;
    check(MPI_Type_contiguous(row_floats, MPI_FLOAT, &row), "MPI_Type_contiguous");
    MPI_Type_commit(&row);
    std::vector<int> send_at(size_), recv_at(size_);
    for (int q = 1; q < size_; ++q) {
      send_at[q] = send_at[q - 1] + send_rows[q - 1];
      recv_at[q] = recv_at[q - 1] + recv_rows[q - 1];
    }
    const int rc = MPI_Alltoallv(send, send_rows, send_at.data(), row, recv, recv_rows, recv_at.data(), row,
                                 MPI_COMM_WORLD);
    MPI_Type_free(&row);
    check(rc, "MPI_Alltoallv");
  }

 private:
  template <class T>
  void reduce(T* data, int64_t n, MPI_Datatype type) {
    ++allreduces_;
    for (int64_t done = 0; done < n;) {
      const int chunk = static_cast<int>(std::min<int64_t>(n - done, INT_MAX));
      check(MPI_Allreduce(MPI_IN_PLACE, data + done, chunk, type, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
      done += chunk;
    }
  }
  int rank_ = 0, size_ = 1;
};

// What a rank says when the launcher ends it (SIGTERM): mpirun does so to every
// rank left when one exits abnormally or the job is cancelled, and without
// this only mpirun's own report would say why this rank stopped. Formatted
// before any signal, written by the handler with write() alone.
char terminated_message[512];
size_t terminated_length = 0;
// What SIGTERM did before (ROOT's handler in root.exe, SIG_DFL in a program):
// run after the message, and restored when the session ends.
struct sigaction previous_sigterm{};
bool sigterm_replaced = false;

void say_terminated(int sig) {
  if (terminated_length > 0) {
    [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, terminated_message, terminated_length);
  }
  // Then what SIGTERM did before: SIGTERM is blocked in this handler, so the
  // raised one reaches the previous action when this handler returns.
  sigaction(sig, &previous_sigterm, nullptr);
  std::raise(sig);
}

void restore_sigterm() {
  if (sigterm_replaced) sigaction(SIGTERM, &previous_sigterm, nullptr);
  sigterm_replaced = false;
}

void say_when_terminated(int rank, int size) {
  const int n =
      std::snprintf(terminated_message, sizeof terminated_message,
                    "%s (rank %d of %d): ended by the launcher (SIGTERM): it ends every rank when one "
                    "of them fails or dies, or when the job is cancelled; its report names which; "
                    "checkpoints already written are kept\n",
                    program_invocation_short_name, rank, size);
  terminated_length = n > 0 ? std::min<size_t>(static_cast<size_t>(n), sizeof terminated_message - 1) : 0;
  if (sigaction(SIGTERM, nullptr, &previous_sigterm) != 0 || previous_sigterm.sa_handler == SIG_IGN) return;
  struct sigaction action{};
  action.sa_handler = say_terminated;
  sigemptyset(&action.sa_mask);
  sigterm_replaced = sigaction(SIGTERM, &action, nullptr) == 0;
}

}  // namespace

MpiSession::MpiSession(int* argc, char*** argv) {
  if (!launched_by_mpi()) return;
  check(MPI_Init(argc, argv), "MPI_Init");
  // Errors come back as codes (turned into exceptions above) instead of
  // aborting inside MPI, so the rank can say what failed.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_dup(MPI_COMM_WORLD, &error_comm);
  active_ = true;
  auto world = std::make_unique<MpiWorld>();
  if (world->size() > 1) say_when_terminated(world->rank(), world->size());
  set_world(std::move(world));
}

void MpiSession::fail() {
  if (failed_ || !active_) return failed_ = true, void();
  failed_ = true;
  MPI_Request request;
  if (MPI_Ibarrier(error_comm, &request) != MPI_SUCCESS) return;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (int done = 0; !done && std::chrono::steady_clock::now() < deadline;) {
    if (MPI_Test(&request, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return;
    if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

MpiSession::~MpiSession() {
  if (!active_) return;
  restore_sigterm();
  set_world(nullptr);
  if (!failed_) MPI_Finalize();
}

}  // namespace torchclad::dist

// For libtorchclad_root, which loads this library with dlopen only when a
// launcher started the process (torchclad::Distributed, root/src/distributed.cpp):
// unmangled names to find with dlsym. The session is the one above.
extern "C" {
void* torchclad_mpi_session_open(int* argc, char*** argv) {
  return new torchclad::dist::MpiSession(argc, argv);
}
void torchclad_mpi_session_fail(void* session) { static_cast<torchclad::dist::MpiSession*>(session)->fail(); }
void torchclad_mpi_session_close(void* session) { delete static_cast<torchclad::dist::MpiSession*>(session); }
}
