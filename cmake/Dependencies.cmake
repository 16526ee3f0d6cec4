# How to find each library outside the standard library that a layer may
# link, named by the target it links. The same knowledge is written three
# ways: find_package here, find_dependency in the installed
# pizzeriaConfig.cmake (so a user's build finds what the layers it uses need,
# and nothing more), and a pkg-config module name for pizzeria-<layer>.pc.
#
# A layer's external libraries are found only when the layer is configured,
# so a build of PIZZERIA_LAYERS=core;coro needs nothing beyond Linux and the
# standard library.

# For one target: the code that finds it here and in the installed package,
# its pkg-config module (or plain linker flags) and its Debian package. This
# table is the only place to add a library.
function(pz_dependency_info target out_find out_config out_pc out_libs out_debian)
  set(pc "")
  set(libs "")
  if(target STREQUAL "Threads::Threads")
    set(find "find_package(Threads)")
    set(config "find_dependency(Threads)")
    set(libs "-pthread")
    set(debian "")
  elseif(target STREQUAL "fmt::fmt")
    set(find "find_package(fmt)")
    set(config "find_dependency(fmt)")
    set(pc "fmt")
    set(debian "libfmt-dev")
  elseif(target STREQUAL "nlohmann_json::nlohmann_json")
    set(find "find_package(nlohmann_json)")
    set(config "find_dependency(nlohmann_json)")
    set(pc "nlohmann_json")
    set(debian "nlohmann-json3-dev")
  elseif(target STREQUAL "CLI11::CLI11")
    set(find "find_package(CLI11 CONFIG)")
    set(config "find_dependency(CLI11 CONFIG)")
    set(debian "libcli11-dev")
  elseif(target MATCHES "^PkgConfig::(LIBURING|HIREDIS|LIBSYSTEMD)$")
    set(prefix ${CMAKE_MATCH_1})
    string(TOLOWER ${prefix} module)
    # GLOBAL: a parent project that links a layer sees its imported target.
    set(find "find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(${prefix} QUIET IMPORTED_TARGET GLOBAL ${module})
endif()")
    set(config "find_dependency(PkgConfig)
if(NOT TARGET ${target})
  pkg_check_modules(${prefix} QUIET IMPORTED_TARGET GLOBAL ${module})
  if(NOT ${prefix}_FOUND)
    set(pizzeria_FOUND FALSE)
    set(pizzeria_NOT_FOUND_MESSAGE \"pizzeria needs ${module} (pkg-config module ${module})\")
    return()
  endif()
endif()")
    set(pc ${module})
    if(module STREQUAL "liburing")
      set(debian "liburing-dev")
    elseif(module STREQUAL "hiredis")
      set(debian "libhiredis-dev")
    else()
      set(debian "libsystemd-dev")
    endif()
  else()
    message(FATAL_ERROR "pizzeria: no rule to find ${target}: add one to cmake/Dependencies.cmake")
  endif()
  set(${out_find} "${find}" PARENT_SCOPE)
  set(${out_config} "${config}" PARENT_SCOPE)
  set(${out_pc} "${pc}" PARENT_SCOPE)
  set(${out_libs} "${libs}" PARENT_SCOPE)
  set(${out_debian} "${debian}" PARENT_SCOPE)
endfunction()

# Finds <target> for <layer> unless it exists already; stops with what to
# install (or to leave out) when it cannot.
function(pz_find_dependency layer target)
  if(TARGET ${target})
    return()
  endif()
  pz_dependency_info(${target} find config pc libs debian)
  cmake_language(EVAL CODE "${find}")
  if(NOT TARGET ${target})
    message(FATAL_ERROR
      "pizzeria: the ${layer} layer needs ${target} (Debian: ${debian}). Install it, or "
      "build only the layers you use, e.g. -DPIZZERIA_LAYERS=core;coro")
  endif()
endfunction()
