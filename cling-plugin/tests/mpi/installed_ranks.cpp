// torchclad::Distributed from an installed torchclad (installed_ranks.sh):
// a C++17 program that includes only torchclad/distributed.h and links only
// libtorchclad_root; under mpirun the library loads libtorchclad_mpi.so
// from beside itself.
#include <cstdio>

#include "torchclad/distributed.h"

int main(int argc, char** argv) {
  torchclad::Distributed mpi(argc, argv);
  std::printf("rank %d of %d, MPI %s\n", mpi.rank(), mpi.size(), mpi.active() ? "running" : "not started");
  return 0;
}
