#pragma once
// Open MPI behind dist::Communicator (libtorchclad_mpi.so; the commands link
// it, libtorchclad.so does not). MpiSession initialises MPI only when the
// process was started by a launcher (mpirun/mpiexec or srun with PMIx: the
// environment names the rank), so a plain run needs no mpirun and pays
// nothing; it then installs the MPI world as dist::world().
#include "dist/launcher.hpp"  // launched_by_mpi()

namespace torchclad::dist {

class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  // Finalises MPI after a successful run. After fail() it does not: a rank
  // that stops with an error while others may wait in a collective must not
  // wait in MPI_Finalize; its non-zero exit makes mpirun end the job.
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  // Call after printing the error. Ranks that fail together (a check every
  // rank makes) meet in a barrier on a communicator of their own, so each
  // has printed its error before the first exit makes mpirun kill the rest;
  // a rank that fails alone waits at most 3 s there.
  void fail();
  bool active() const { return active_; }

 private:
  bool active_ = false, failed_ = false;
};

}  // namespace torchclad::dist
