# Install rules (included from CMakeLists.txt when TRAMP_INSTALL is on): the headers, both
# libraries, the CMake package (find_package(tramp) -> tramp::tramp, tramp::tramp_static),
# tramp.pc, and the tramp tool. Everything is relative to the install prefix, so
# `cmake --install build --prefix DIR` and the Debian packages (./dev deb) use the same tree.
include(CMakePackageConfigHelpers)

set(TRAMP_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tramp)

install(DIRECTORY include/tramp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
install(TARGETS tramp_shared EXPORT trampTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev)
install(TARGETS tramp EXPORT trampTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(EXPORT trampTargets NAMESPACE tramp:: DESTINATION ${TRAMP_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(cmake/trampConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/trampConfig.cmake
  INSTALL_DESTINATION ${TRAMP_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/trampConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/trampConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/trampConfigVersion.cmake
  DESTINATION ${TRAMP_CMAKE_DIR} COMPONENT dev)

# tramp.pc finds its prefix from where it lies (${pcfiledir}), so it stays right in a scratch
# prefix or in a tree unpacked from the .debs.
string(REGEX MATCHALL "[^/]+" libdir_parts "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
list(LENGTH libdir_parts pc_depth)
set(TRAMP_PC_PREFIX "\${pcfiledir}")
foreach(i RANGE 1 ${pc_depth})
  string(APPEND TRAMP_PC_PREFIX "/..")
endforeach()
configure_file(cmake/tramp.pc.in ${CMAKE_CURRENT_BINARY_DIR}/tramp.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tramp.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

if(TRAMP_BUILD_TOOLS)
  install(TARGETS tramp-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tools)
endif()
