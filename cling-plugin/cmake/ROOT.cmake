# Finds ROOT in the project's Python environment (the PyPI `ROOT` wheel).
#
# The wheel's own CMake package (ROOTConfig.cmake) points its targets at a
# `mock_site_packages/` folder that does not exist, so, as for LibTorch, we
# take the package's folder and define torchclad::root ourselves.
execute_process(
  COMMAND "${TORCHCLAD_PYTHON}" -c
    "import importlib.util as u; print(u.find_spec('ROOT').submodule_search_locations[0])"
  OUTPUT_VARIABLE ROOT_PACKAGE_DIR OUTPUT_STRIP_TRAILING_WHITESPACE
  ERROR_VARIABLE _root_err RESULT_VARIABLE _root_rc)
if(NOT _root_rc EQUAL 0 OR NOT EXISTS "${ROOT_PACKAGE_DIR}/lib/libCore.so")
  message(FATAL_ERROR "ROOT (the PyPI wheel) not found in ${TORCHCLAD_PYTHON}'s environment: "
                      "run the setup command. ${_root_err}")
endif()
set(ROOT_LIB_DIR "${ROOT_PACKAGE_DIR}/lib")
set(ROOT_BIN_DIR "${ROOT_PACKAGE_DIR}/bin")
add_library(torchclad::root INTERFACE IMPORTED)
# ROOT's headers were configured for C++17; under C++20 they only warn about it.
target_include_directories(torchclad::root SYSTEM INTERFACE "${ROOT_PACKAGE_DIR}/include")
foreach(lib Core RIO Tree TreePlayer ROOTDataFrame ROOTVecOps Hist Gpad Graf Graf3d MathCore
            Imt Thread Cling Net)
  target_link_libraries(torchclad::root INTERFACE "${ROOT_LIB_DIR}/lib${lib}.so")
endforeach()
# The wheel's own copies of system libraries (freetype, png, ...) sit in
# root.libs/ beside the package; the linker must find them too.
target_link_options(torchclad::root INTERFACE "LINKER:-rpath,${ROOT_LIB_DIR}"
                    "LINKER:-rpath-link,${ROOT_PACKAGE_DIR}/../root.libs")
message(STATUS "ROOT from ${ROOT_PACKAGE_DIR}")
