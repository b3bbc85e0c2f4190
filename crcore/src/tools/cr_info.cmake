# cr_info: shows what a checkpoint image holds (cr_info [--json] [--regions] [--fds] IMAGE).
# Included by crcore/src/tools/CMakeLists.txt.
add_executable(cr_info ${CMAKE_CURRENT_LIST_DIR}/cr_info.cpp)
target_link_libraries(cr_info PRIVATE crcore_image crcore_restart CLI11::CLI11 nlohmann_json::nlohmann_json fmt::fmt)
crcore_sanitize(cr_info)
install(TARGETS cr_info RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# A directory argument (a global MPI snapshot) is handed to crcore-snapshot-info in libexec (mpi_glue/).
file(RELATIVE_PATH _cr_info_to_libexec ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_LIBEXECDIR})
target_compile_definitions(cr_info PRIVATE
  CRCORE_BIN_TO_SNAPSHOT_INFO="${_cr_info_to_libexec}/crcore/crcore-snapshot-info")
