# make install PREFIX=...: the shared and static libraries, the headers, the
# polyplug tool, polyplug.pc for pkg-config and a CMake package for
# find_package(polyplug). tests/test_install.sh builds hosts against it.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(PP_INSTALL_TARGETS polyplug polyplug_static polyplug_cli ppc)
if(TARGET pp_quickjs)
  get_target_property(pp_qjs_type pp_quickjs TYPE)
  if(pp_qjs_type STREQUAL "STATIC_LIBRARY")
    # the QuickJS we built goes along, for programs linking libpolyplug.a
    set_target_properties(pp_quickjs PROPERTIES OUTPUT_NAME polyplug_quickjs)
    set(PP_PC_QUICKJS "-lpolyplug_quickjs")
  else()
    set(PP_PC_QUICKJS "${PP_SYSTEM_QJS_LIB}")
  endif()
  list(APPEND PP_INSTALL_TARGETS pp_quickjs)
endif()

install(TARGETS ${PP_INSTALL_TARGETS} EXPORT polyplugTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/polyplug DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
  FILES_MATCHING PATTERN "*.md")
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(PP_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/polyplug)
install(EXPORT polyplugTargets NAMESPACE polyplug:: DESTINATION ${PP_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/polyplugConfig.cmake.in
  ${CMAKE_BINARY_DIR}/polyplugConfig.cmake INSTALL_DESTINATION ${PP_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/polyplugConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/polyplugConfig.cmake
  ${CMAKE_BINARY_DIR}/polyplugConfigVersion.cmake DESTINATION ${PP_CMAKE_DIR})

# polyplug.pc with the prefix filled in at install time
install(CODE "
  set(CMAKE_INSTALL_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(CMAKE_INSTALL_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(CMAKE_INSTALL_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  set(PP_PC_QUICKJS \"${PP_PC_QUICKJS}\")
  configure_file(\"${CMAKE_SOURCE_DIR}/cmake/polyplug.pc.in\"
    \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig/polyplug.pc\" @ONLY)
  configure_file(\"${CMAKE_SOURCE_DIR}/cmake/polyplug-static.pc.in\"
    \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig/polyplug-static.pc\" @ONLY)
")
