function(pz_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # g++ 12 at -O2/-O3 reports -Wrestrict inside libstdc++'s own
    # std::string code (GCC bug 105329), a false positive that -Werror
    # would turn into a broken release build. -Wnull-dereference is left out
    # for the same reason: at -O2 under TSan it fires inside std::string.
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(PZ_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
