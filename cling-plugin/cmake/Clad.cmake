# Locates Clad (a Clang plugin, built by hand against LLVM 19 into CLAD_DIR)
# and checks that the compiler is the clang it was built for.
# Defines CLAD_PLUGIN, CLAD_INCLUDE_DIR and the function torchclad_use_clad(target).

set(CLAD_DIR "$ENV{CLAD_DIR}" CACHE PATH "Clad install prefix")
if(NOT CLAD_DIR)
  set(CLAD_DIR "/opt/clad" CACHE PATH "Clad install prefix" FORCE)
endif()

set(_clad_help
  "Clad is needed and is in no package registry: build Clad v2.4 or newer from its "
  "source (github.com/vgvassilev/clad) against Debian's LLVM 19 (packages llvm-19-dev, "
  "libclang-19-dev, clang-19) and install it into /opt/clad, or point CLAD_DIR at its "
  "install prefix. CLAD_DIR is now '${CLAD_DIR}'.")

find_file(CLAD_PLUGIN NAMES clad.so PATHS "${CLAD_DIR}/lib" NO_DEFAULT_PATH NO_CACHE)
find_path(CLAD_INCLUDE_DIR NAMES clad/Differentiator/Differentiator.h
          PATHS "${CLAD_DIR}/include" NO_DEFAULT_PATH NO_CACHE)
if(NOT CLAD_PLUGIN OR NOT CLAD_INCLUDE_DIR)
  string(JOIN "" _msg ${_clad_help})
  message(FATAL_ERROR "Clad not found (no lib/clad.so or include/clad under CLAD_DIR).\n${_msg}")
endif()

if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR NOT CMAKE_CXX_COMPILER_VERSION MATCHES "^19\\.")
  message(FATAL_ERROR
    "Clad is a plugin of clang 19: configure with -DCMAKE_CXX_COMPILER=clang++-19 "
    "(found ${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}).")
endif()

message(STATUS "Clad plugin: ${CLAD_PLUGIN}")

# Compile a target's sources with the Clad plugin. CLAD_NO_NUM_DIFF makes a
# call Clad cannot differentiate a build error instead of a silent fallback
# to numerical differentiation.
function(torchclad_use_clad target)
  target_include_directories(${target} PRIVATE "${CLAD_INCLUDE_DIR}")
  target_compile_definitions(${target} PRIVATE CLAD_NO_NUM_DIFF)
  target_compile_options(${target} PRIVATE "-fplugin=${CLAD_PLUGIN}")
  set_property(TARGET ${target} APPEND PROPERTY OBJECT_DEPENDS "${CLAD_PLUGIN}")
endfunction()
