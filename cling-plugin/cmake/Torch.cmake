# Finds LibTorch inside the project's Python environment: the PyPI torch wheel
# ships headers, libraries and a CMake package (torch.utils.cmake_prefix_path).
#
# That CMake package (TorchConfig -> Caffe2Config) insists on a CUDA toolkit
# when the wheel was built with CUDA, which the default PyPI wheel is. We
# build for CPU only, so we take its paths and define the imported target
# torchclad::libtorch ourselves: headers, libtorch/libtorch_cpu/libc10 and
# the C++ ABI the wheel was built with.

set(TORCHCLAD_PYTHON "${CMAKE_CURRENT_SOURCE_DIR}/../.venv/bin/python" CACHE FILEPATH
    "Python of the environment that holds torch (the project's .venv)")
if(NOT EXISTS "${TORCHCLAD_PYTHON}")
  message(FATAL_ERROR "No Python at ${TORCHCLAD_PYTHON}: run the setup command (README) "
                      "or pass -DTORCHCLAD_PYTHON=<python with torch installed>.")
endif()
execute_process(
  COMMAND "${TORCHCLAD_PYTHON}" -c
    "import torch, torch.utils; print(torch.utils.cmake_prefix_path); print(torch.__version__); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))"
  OUTPUT_VARIABLE _torch_out OUTPUT_STRIP_TRAILING_WHITESPACE
  ERROR_VARIABLE _torch_err RESULT_VARIABLE _torch_rc)
if(NOT _torch_rc EQUAL 0)
  message(FATAL_ERROR "${TORCHCLAD_PYTHON} cannot import torch: ${_torch_err}")
endif()
string(REPLACE "\n" ";" _torch_out "${_torch_out}")
list(GET _torch_out 0 _torch_cmake_prefix)
list(GET _torch_out 1 TORCH_VERSION)
list(GET _torch_out 2 _torch_cxx11_abi)
get_filename_component(TORCH_ROOT "${_torch_cmake_prefix}/../.." ABSOLUTE)
set(TORCH_LIB_DIR "${TORCH_ROOT}/lib")
set(TORCH_PYTHON_SITE "${TORCH_ROOT}/..")

add_library(torchclad::libtorch INTERFACE IMPORTED)
target_include_directories(torchclad::libtorch SYSTEM INTERFACE
  "${TORCH_ROOT}/include" "${TORCH_ROOT}/include/torch/csrc/api/include")
target_link_libraries(torchclad::libtorch INTERFACE
  "${TORCH_LIB_DIR}/libtorch.so" "${TORCH_LIB_DIR}/libtorch_cpu.so" "${TORCH_LIB_DIR}/libc10.so")
target_compile_definitions(torchclad::libtorch INTERFACE _GLIBCXX_USE_CXX11_ABI=${_torch_cxx11_abi})
target_link_options(torchclad::libtorch INTERFACE "LINKER:-rpath,${TORCH_LIB_DIR}")
message(STATUS "LibTorch ${TORCH_VERSION} from ${TORCH_ROOT}")
