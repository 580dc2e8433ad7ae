# `cmake --install` + an exported package: downstream projects do find_package(lightpeft) and link
# lightpeft::lightpeft. Torch is found again by the consumer (through the same venv).
include(CMakePackageConfigHelpers)
install(TARGETS lightpeft lightpeft_cli EXPORT lightpeftTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/lightpeft DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT lightpeftTargets NAMESPACE lightpeft:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lightpeft)
configure_package_config_file(cmake/lightpeftConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/lightpeftConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lightpeft)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/lightpeftConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/lightpeftConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/lightpeftConfigVersion.cmake
  cmake/LightpeftPython.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lightpeft)
