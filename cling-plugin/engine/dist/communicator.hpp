#pragma once
// The processes of a data-parallel run, as the engine sees them: rank, size,
// in-place sums and a broadcast. libtorchclad.so holds no MPI: its world is
// one process until a launcher's library installs another (mpi_world.hpp,
// libtorchclad_mpi.so, linked by the commands only), so ROOT, cling and the
// kernel host load the engine without libmpi.
#include <cstdint>
#include <memory>
#include <string>

namespace torchclad::dist {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Element-wise sum over every rank, in place (every rank gets the sum).
  virtual void allreduce_sum(float* data, int64_t n) = 0;
  virtual void allreduce_sum(double* data, int64_t n) = 0;
  // bytes from `root` to every rank (every rank passes a buffer of that size).
  virtual void broadcast(void* data, int64_t bytes, int root) = 0;
  // Rows of `row_floats` floats to every rank and from every rank (one
  // MPI_Alltoallv): send_rows[q] rows to rank q, taken in rank order from
  // `send`; recv_rows[q] rows from rank q, stored in rank order in `recv`.
  // Every rank passes the same row_floats; the counts must match pairwise.
  virtual void alltoallv(const float* send, const int* send_rows, float* recv, const int* recv_rows,
                         int row_floats) = 0;
  // The allreduce_sum calls this process made (tests count a step's collectives).
  int64_t allreduces() const { return allreduces_; }

 protected:
  int64_t allreduces_ = 0;
};

// The run's processes: one process (rank 0 of 1) unless set_world() was called.
Communicator& world();
void set_world(std::unique_ptr<Communicator> world);
inline bool distributed() { return world().size() > 1; }
inline bool is_root() { return world().rank() == 0; }

// "rank 1 of 4" (for error messages), "" in a single process.
std::string rank_label();

}  // namespace torchclad::dist
