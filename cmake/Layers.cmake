# pz_layer(<name> <link>...): the library of one layer, src/<name>/*.cpp with
# the headers of include/pizzeria/<name>/. <link> names the layers below it
# (pz_<layer>) and the external libraries it needs (by target: fmt::fmt,
# PkgConfig::HIREDIS, ...; cmake/Dependencies.cmake knows how to find each).
#
# A layer links only the layers below it, so an include of a higher layer
# fails to link (and is caught in review): see docs/design.md, "Layers".
#
# Every layer is also:
#   - pizzeria::<name>, an alias here and the exported name once installed;
#   - static by default, shared with -DBUILD_SHARED_LIBS=ON (SONAME
#     libpizzeria-<name>.so.<major>.<minor>: before 1.0 a minor version may
#     break the ABI); position-independent either way, so a static layer links
#     into a user's shared library;
#   - installed with its headers, CMake targets and pkg-config file
#     (cmake/Install.cmake), so adding a layer is one pz_layer line.
# Layers not in PIZZERIA_LAYERS (when it is not "all") are skipped, with
# their external libraries.
include(GNUInstallDirs)
include(${CMAKE_CURRENT_LIST_DIR}/Dependencies.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/Install.cmake)

set(PZ_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})

function(pz_layer name)
  if(NOT PIZZERIA_LAYERS STREQUAL "all" AND NOT name IN_LIST PIZZERIA_LAYERS)
    return()
  endif()
  set(layers "")
  set(external "")
  foreach(item IN LISTS ARGN)
    if(item MATCHES "^pz_(.+)$")
      if(NOT TARGET ${item})
        message(FATAL_ERROR
          "pizzeria: the ${name} layer needs the ${CMAKE_MATCH_1} layer: add it to PIZZERIA_LAYERS")
      endif()
      list(APPEND layers ${CMAKE_MATCH_1})
    else()
      pz_find_dependency(${name} ${item})
      list(APPEND external ${item})
    endif()
  endforeach()

  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  if(sources)
    add_library(pz_${name} ${sources})
    set(scope PUBLIC)
    target_include_directories(pz_${name} PRIVATE ${PROJECT_SOURCE_DIR}/src)
    set_target_properties(pz_${name} PROPERTIES
      OUTPUT_NAME pizzeria-${name}
      POSITION_INDEPENDENT_CODE ON
      VERSION ${PROJECT_VERSION}
      SOVERSION ${PZ_SOVERSION})
    pz_warnings(pz_${name})
  else()
    # A layer that is still header-only.
    add_library(pz_${name} INTERFACE)
    set(scope INTERFACE)
  endif()
  set_target_properties(pz_${name} PROPERTIES EXPORT_NAME ${name})
  target_include_directories(pz_${name} ${scope}
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  # The headers are C++20 (coroutines, concepts): so is every user's code.
  target_compile_features(pz_${name} ${scope} cxx_std_20)
  target_link_libraries(pz_${name} ${scope} ${ARGN})
  add_library(pizzeria::${name} ALIAS pz_${name})

  set_property(GLOBAL APPEND PROPERTY PZ_LAYERS ${name})
  set_property(GLOBAL PROPERTY PZ_LAYER_LAYERS_${name} ${layers})
  set_property(GLOBAL PROPERTY PZ_LAYER_EXTERNAL_${name} ${external})
  pz_install_layer(${name} ${scope})
endfunction()
