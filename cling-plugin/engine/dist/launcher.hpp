#pragma once
// Whether an MPI launcher started this process: mpirun/mpiexec, or srun
// with PMIx (the environment names the rank). Header-only and MPI-free, so
// that libtorchclad_root decides whether to load libtorchclad_mpi.so at all
// (root/src/distributed.cpp) and MpiSession whether to call MPI_Init.
#include <cstdlib>
#include <initializer_list>

namespace torchclad::dist {

inline bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}

// The number of processes the launcher started, when the environment says
// (Open MPI, or a PMI launcher such as srun or MPICH's Hydra); 0 if unknown.
inline int launched_processes() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* n = std::getenv(v)) return std::atoi(n);
  return 0;
}

}  // namespace torchclad::dist
