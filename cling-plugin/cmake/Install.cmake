# Install rules: `cmake --install build/cling-plugin --prefix P` gives
#   P/lib                 the libraries (RUNPATH $ORIGIN: they find each other)
#   P/bin                 the command-line tools (RUNPATH $ORIGIN/../lib)
#   P/include/torchclad   the API headers, and engine/ for what nn.h includes
#   P/lib/cmake/torchclad find_package(torchclad): targets torchclad::api (the
#                         C++17 API of torchclad.h/model.h/...), ::engine,
#                         ::models, ::gw, ::mpi (the MPI world of the commands:
#                         engine/dist), and torchclad_use_clad(target)
# The installed libraries find their headers beside them (root/src/
# header_dirs.cpp); LibTorch, ROOT and Clad stay where they were found.
include(CMakePackageConfigHelpers)

set(_torchclad_libs torchclad torchclad_kernels torchclad_root torchclad_models torchclad_mpi)
set(_torchclad_apps torchclad-train torchclad-train-gw torchclad-idx2root torchclad-onnx)
if(TARGET torchclad_gw)
  list(APPEND _torchclad_libs torchclad_gw)
  list(APPEND _torchclad_apps torchclad-gwsim)
endif()

set_target_properties(torchclad PROPERTIES EXPORT_NAME engine)
set_target_properties(torchclad_kernels PROPERTIES EXPORT_NAME kernels)
set_target_properties(torchclad_root PROPERTIES EXPORT_NAME api)
set_target_properties(torchclad_models PROPERTIES EXPORT_NAME models)
set_target_properties(torchclad_mpi PROPERTIES EXPORT_NAME mpi)
if(TARGET torchclad_gw)
  set_target_properties(torchclad_gw PROPERTIES EXPORT_NAME gw INTERFACE_INCLUDE_DIRECTORIES
    "$<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/gw/src;${CMAKE_CURRENT_SOURCE_DIR}/root/include>;$<INSTALL_INTERFACE:include>")
endif()
# In the build tree the source folders; installed, the copies under include/.
# The engine's headers include torchclad/epoch.h (the epoch type it shares
# with the API).
set_property(TARGET torchclad PROPERTY INTERFACE_INCLUDE_DIRECTORIES
  "$<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/engine;${CMAKE_CURRENT_SOURCE_DIR}/root/include>;$<INSTALL_INTERFACE:include/torchclad/engine;include>")
set_property(TARGET torchclad_kernels PROPERTY INTERFACE_INCLUDE_DIRECTORIES
  "$<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/engine>;$<INSTALL_INTERFACE:include/torchclad/engine>")
set_property(TARGET torchclad_root PROPERTY INTERFACE_INCLUDE_DIRECTORIES
  "$<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/root/include;${CMAKE_CURRENT_SOURCE_DIR}/root;${CMAKE_CURRENT_SOURCE_DIR}/engine>;$<INSTALL_INTERFACE:include;include/torchclad/engine>")
set_target_properties(${_torchclad_libs} PROPERTIES INSTALL_RPATH "$ORIGIN")
set_target_properties(${_torchclad_apps} PROPERTIES INSTALL_RPATH "$ORIGIN/../lib")

install(TARGETS ${_torchclad_libs} EXPORT torchcladTargets LIBRARY DESTINATION lib ARCHIVE DESTINATION lib)
install(TARGETS ${_torchclad_apps} RUNTIME DESTINATION bin)
install(DIRECTORY root/include/torchclad DESTINATION include)
install(DIRECTORY engine/ DESTINATION include/torchclad/engine FILES_MATCHING PATTERN "*.hpp")
install(EXPORT torchcladTargets NAMESPACE torchclad:: DESTINATION lib/cmake/torchclad)

configure_package_config_file(cmake/torchcladConfig.cmake.in
  "${CMAKE_CURRENT_BINARY_DIR}/torchcladConfig.cmake" INSTALL_DESTINATION lib/cmake/torchclad)
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/torchcladConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/torchcladConfig.cmake"
              "${CMAKE_CURRENT_BINARY_DIR}/torchcladConfigVersion.cmake"
        DESTINATION lib/cmake/torchclad)
