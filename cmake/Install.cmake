# Install rules and the packages built from them:
#   include/pizzeria/<layer>/          the headers of every layer
#   lib/libpizzeria-<layer>.a (.so)    the libraries
#   lib/cmake/pizzeria/                pizzeriaConfig.cmake, ConfigVersion, targets
#   lib/pkgconfig/pizzeria[-<layer>].pc
#   bin/pizzeria, its systemd units, docs and examples
# and CPack's .deb packages: libpizzeria-dev (component "development") and
# pizzeria (component "runtime").
include(CMakePackageConfigHelpers)

set(PZ_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/pizzeria)
set(PZ_PKGCONFIG_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
set(PZ_DEV_DOCDIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/libpizzeria-dev)

# Writes <build>/pkgconfig/<name>.pc. The prefix is found from the file's own
# place (${pcfiledir}), so an install moved or made with --prefix still works.
function(pz_write_pc name description requires libs)
  file(RELATIVE_PATH to_prefix "/${PZ_PKGCONFIG_DIR}" "/")
  string(REGEX REPLACE "/$" "" to_prefix "${to_prefix}")
  string(JOIN "\n" text
    "prefix=\${pcfiledir}/${to_prefix}"
    "libdir=\${prefix}/${CMAKE_INSTALL_LIBDIR}"
    "includedir=\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}"
    ""
    "Name: ${name}"
    "Description: ${description}"
    "Version: ${PROJECT_VERSION}"
    "Requires: ${requires}"
    "Libs: ${libs}"
    "Cflags: -I\${includedir}"
    "")
  file(WRITE ${PROJECT_BINARY_DIR}/pkgconfig/${name}.pc "${text}")
  install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${name}.pc DESTINATION ${PZ_PKGCONFIG_DIR}
    COMPONENT development)
endfunction()

# Called by pz_layer: the layer's library, headers, exported targets and
# pkg-config file.
function(pz_install_layer name scope)
  if(NOT PIZZERIA_INSTALL)
    return()
  endif()
  install(TARGETS pz_${name} EXPORT pizzeria-${name}-targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT development)
  install(EXPORT pizzeria-${name}-targets NAMESPACE pizzeria:: DESTINATION ${PZ_CMAKE_DIR}
    COMPONENT development)
  if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/include/pizzeria/${name})
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/pizzeria/${name}
      DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/pizzeria COMPONENT development)
  endif()

  get_property(layers GLOBAL PROPERTY PZ_LAYER_LAYERS_${name})
  get_property(external GLOBAL PROPERTY PZ_LAYER_EXTERNAL_${name})
  set(requires "")
  foreach(layer IN LISTS layers)
    list(APPEND requires pizzeria-${layer})
  endforeach()
  set(libs "")
  if(scope STREQUAL "PUBLIC")
    set(libs "-L\${libdir} -lpizzeria-${name}")
  endif()
  foreach(target IN LISTS external)
    pz_dependency_info(${target} find config pc extra_libs debian)
    list(APPEND requires ${pc})
    string(APPEND libs " ${extra_libs}")
  endforeach()
  list(JOIN requires " " requires)
  string(STRIP "${libs}" libs)
  pz_write_pc(pizzeria-${name} "pizzeria's ${name} layer (MIT licence)" "${requires}" "${libs}")
endfunction()

# Called once, after the last pz_layer: pizzeria::pizzeria (every layer),
# the CMake package files, pizzeria.pc and the .deb packages.
function(pz_install_package)
  get_property(all_layers GLOBAL PROPERTY PZ_LAYERS)
  add_library(pz_pizzeria INTERFACE)
  foreach(layer IN LISTS all_layers)
    target_link_libraries(pz_pizzeria INTERFACE pz_${layer})
  endforeach()
  set_target_properties(pz_pizzeria PROPERTIES EXPORT_NAME pizzeria)
  add_library(pizzeria::pizzeria ALIAS pz_pizzeria)
  if(NOT PIZZERIA_INSTALL)
    return()
  endif()
  install(TARGETS pz_pizzeria EXPORT pizzeria-all-targets)
  install(EXPORT pizzeria-all-targets NAMESPACE pizzeria:: DESTINATION ${PZ_CMAKE_DIR}
    COMPONENT development)

  # pizzeriaConfig.cmake loads the requested layers (all by default) and the
  # layers below them, each after finding its external libraries.
  set(PZ_CONFIG_LAYERS "${all_layers}")
  set(PZ_CONFIG_NEEDS "")
  set(PZ_CONFIG_LOADS "")
  foreach(layer IN LISTS all_layers)
    get_property(layers GLOBAL PROPERTY PZ_LAYER_LAYERS_${layer})
    get_property(external GLOBAL PROPERTY PZ_LAYER_EXTERNAL_${layer})
    string(APPEND PZ_CONFIG_NEEDS "set(_pizzeria_needs_${layer} ${layers})\n")
    string(APPEND PZ_CONFIG_LOADS "if(\"${layer}\" IN_LIST _pizzeria_load)\n")
    foreach(target IN LISTS external)
      pz_dependency_info(${target} find config pc libs debian)
      string(REPLACE "\n" "\n  " config "${config}")
      string(APPEND PZ_CONFIG_LOADS "  ${config}\n")
    endforeach()
    string(APPEND PZ_CONFIG_LOADS
      "  include(\"\${CMAKE_CURRENT_LIST_DIR}/pizzeria-${layer}-targets.cmake\")\n"
      "  set(pizzeria_${layer}_FOUND TRUE)\n"
      "endif()\n")
  endforeach()
  configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/pizzeriaConfig.cmake.in
    ${PROJECT_BINARY_DIR}/pizzeriaConfig.cmake INSTALL_DESTINATION ${PZ_CMAKE_DIR})
  # Semantic versioning before 1.0: a minor version may break the API, so a
  # request for 0.1 accepts 0.1.x only.
  write_basic_package_version_file(${PROJECT_BINARY_DIR}/pizzeriaConfigVersion.cmake
    VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
  install(FILES ${PROJECT_BINARY_DIR}/pizzeriaConfig.cmake
                ${PROJECT_BINARY_DIR}/pizzeriaConfigVersion.cmake
    DESTINATION ${PZ_CMAKE_DIR} COMPONENT development)

  set(requires "")
  foreach(layer IN LISTS all_layers)
    list(APPEND requires pizzeria-${layer})
  endforeach()
  list(REVERSE requires)
  list(JOIN requires " " requires)
  pz_write_pc(pizzeria "${PROJECT_DESCRIPTION} (MIT licence)" "${requires}" "")

  install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${PZ_DEV_DOCDIR}
    RENAME copyright COMPONENT development)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${PZ_DEV_DOCDIR}/docs
    COMPONENT development)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/ DESTINATION ${PZ_DEV_DOCDIR}/examples
    COMPONENT development)
endfunction()
