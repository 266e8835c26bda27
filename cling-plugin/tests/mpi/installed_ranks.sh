#!/usr/bin/env bash
# Installs the build into a prefix, compiles installed_ranks.cpp against it
# (C++17, the installed header, libtorchclad_root alone) and runs it in one
# process and under mpirun: MPI is not started without mpirun; with it,
# every rank runs MPI, with libtorchclad_mpi.so loaded from the prefix.
# usage: installed_ranks.sh MPIEXEC CXX BUILD_DIR PREFIX
set -u
mpiexec=$1 cxx=$2 build=$3 prefix=$4
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$prefix"
cmake --install "$build" --prefix "$prefix" > /dev/null || { echo "install failed"; exit 1; }
"$cxx" -std=c++17 -I"$prefix/include" "$here/installed_ranks.cpp" -L"$prefix/lib" -ltorchclad_root \
  -Wl,-rpath,"$prefix/lib" -Wl,--allow-shlib-undefined -o "$prefix/installed-ranks" || { echo "compile failed"; exit 1; }
! ldd "$prefix/installed-ranks" | grep -q "libmpi" || { echo "the program links libmpi"; exit 1; }
one=$("$prefix/installed-ranks") || { echo "one process failed: $one"; exit 1; }
[ "$one" = "rank 0 of 1, MPI not started" ] || { echo "one process: $one"; exit 1; }
# The loader's trace into a file per process (LD_DEBUG_OUTPUT.<pid>), apart
# from the ranks' output, which mpirun may interleave.
ranks=$(timeout 60 "$mpiexec" --oversubscribe -np 2 env LD_DEBUG=files LD_DEBUG_OUTPUT="$prefix/ld-trace" \
  "$prefix/installed-ranks") || { echo "2 ranks failed: $ranks"; exit 1; }
for r in 0 1; do
  grep -q "rank $r of 2, MPI running" <<<"$ranks" || { echo "rank $r did not run MPI: $ranks"; exit 1; }
done
loaded=$(cat "$prefix"/ld-trace.* | grep -c "file=$prefix/lib/libtorchclad_mpi.so .*dynamically loaded by $prefix/lib/libtorchclad_root.so")
[ "$loaded" -eq 2 ] || { echo "libtorchclad_mpi.so was not loaded from $prefix/lib by each rank ($loaded)"; exit 1; }
echo "installed: one process without MPI; 2 ranks, each loading $prefix/lib/libtorchclad_mpi.so"
