# cr_info: shows what a checkpoint image holds (cr_info [--json] [--regions] [--fds] IMAGE).
# Included by crcore/src/tools/CMakeLists.txt.
add_executable(cr_info ${CMAKE_CURRENT_LIST_DIR}/cr_info.cpp)
target_link_libraries(cr_info PRIVATE crcore_image crcore_restart CLI11::CLI11 nlohmann_json::nlohmann_json fmt::fmt)
crcore_sanitize(cr_info)
install(TARGETS cr_info RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
