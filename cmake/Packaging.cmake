# The pizzeria executable's install rules and CPack's .deb packages:
#   pizzeria         the executable, its systemd units and man page (component runtime)
#   libpizzeria-dev  headers, libraries, CMake and pkg-config files, docs, examples
#                    (component development; cmake/Install.cmake)
# `cpack -G DEB` in a build tree writes both (scripts/check-install.sh checks them).
install(TARGETS pizzeria RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
if(BUILD_SHARED_LIBS)
  # The installed executable finds the installed layers wherever the prefix is.
  file(RELATIVE_PATH pz_bin_to_lib /${CMAKE_INSTALL_BINDIR} /${CMAKE_INSTALL_LIBDIR})
  set_target_properties(pizzeria PROPERTIES INSTALL_RPATH "$ORIGIN/${pz_bin_to_lib}")
endif()
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/pizzeria
  RENAME copyright COMPONENT runtime)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/pizzeria
  COMPONENT runtime)

# systemd units (docs/running-the-service.md). ExecStart names /usr/bin,
# where the package puts the executable.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/systemd/pizzeria.service
              ${PROJECT_SOURCE_DIR}/packaging/systemd/pizzeria.socket
              ${PROJECT_SOURCE_DIR}/packaging/systemd/pizzeria-kitchen.service
  DESTINATION lib/systemd/system COMPONENT runtime)

# The man page, from --help.
find_program(PZ_HELP2MAN help2man)
if(PZ_HELP2MAN)
  set(pz_man ${PROJECT_BINARY_DIR}/man/pizzeria.1)
  add_custom_command(OUTPUT ${pz_man}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
    COMMAND ${CMAKE_COMMAND} -DPIZZERIA=$<TARGET_FILE:pizzeria> -DHELP2MAN=${PZ_HELP2MAN}
            -DOUTPUT=${pz_man} -P ${PROJECT_SOURCE_DIR}/cmake/ManPage.cmake
    DEPENDS pizzeria ${PROJECT_SOURCE_DIR}/cmake/ManPage.cmake
    COMMENT "Writing the man page pizzeria.1 from --help")
  add_custom_target(pizzeria_man ALL DEPENDS ${pz_man})
  install(FILES ${pz_man} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT runtime)
else()
  message(STATUS "pizzeria: no help2man (Debian: help2man), so no man page")
endif()

# The development package depends on what the layers' users link.
set(pz_dev_depends "")
get_property(pz_layers GLOBAL PROPERTY PZ_LAYERS)
foreach(pz_layer_name IN LISTS pz_layers)
  get_property(pz_external GLOBAL PROPERTY PZ_LAYER_EXTERNAL_${pz_layer_name})
  foreach(pz_target IN LISTS pz_external)
    pz_dependency_info(${pz_target} find config pc libs debian)
    if(debian)
      list(APPEND pz_dev_depends ${debian})
    endif()
  endforeach()
endforeach()
list(REMOVE_DUPLICATES pz_dev_depends)
list(SORT pz_dev_depends)
list(JOIN pz_dev_depends ", " pz_dev_depends)

set(CPACK_PACKAGE_NAME pizzeria)
set(CPACK_PACKAGE_VENDOR "The pizzeria authors")
set(CPACK_PACKAGE_CONTACT "Seed 89ae749e maintainers <maintainers@users.noreply.h-seed-89ae749e.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_COMPONENTS_ALL runtime development)
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
  "pizza-ordering service and concurrency demos (MIT licence)\n"
  "pizzeria serves a line protocol for pizza orders in any concurrency model (threads, "
  "thread pool, select, poll, reactor, coroutines, io_uring), with a load generator, a "
  "Redis-backed kitchen and the programs of a course on concurrency.")
set(CPACK_COMPONENT_DEVELOPMENT_DESCRIPTION
  "C++20 concurrency toolkit for Linux (MIT licence)\n"
  "Event loop, coroutines (Task, TaskGroup, gather, timeouts), thread and process pools, "
  "futures, TCP/UDP streams and a Redis client; static libraries, headers, a CMake package "
  "(find_package(pizzeria)) and pkg-config files (pizzeria, pizzeria-<layer>).")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME pizzeria)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION net)
# dpkg-shlibdeps: the executable's libraries become its Depends line.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME libpizzeria-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS "${pz_dev_depends}")
include(CPack)
