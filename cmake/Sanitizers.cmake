# Sanitizers apply to every target in the tree, third-party code included, so
# that a report never comes from a mix of instrumented and plain frames.
if(PZ_SANITIZE)
  add_compile_options(-fsanitize=${PZ_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${PZ_SANITIZE})
  # clang 14's -fsanitize=function (part of undefined) fails in the backend on
  # coroutines in templates ("Cannot represent a difference across sections",
  # llvm/llvm-project#49689); the rest of UBSan stays on.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND PZ_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize=function)
  endif()
endif()
