# pkg-config file and CMake package config for users who link -lcr.
include(CMakePackageConfigHelpers)
# The .pc file finds the prefix from its own place, so that an installation can be moved
# (or installed with cmake --install --prefix).
file(RELATIVE_PATH CRCORE_PC_TO_PREFIX "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig" "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/$" "" CRCORE_PC_TO_PREFIX "${CRCORE_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/crcore.pc.in ${CMAKE_CURRENT_BINARY_DIR}/crcore.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/crcore.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(EXPORT crcoreTargets NAMESPACE crcore:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/crcore)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/crcoreConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/crcoreConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/crcore)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/crcoreConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/crcoreConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/crcoreConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/crcore)
