# Sanitizers apply to every target in the tree, third-party code included, so
# that a report never comes from a mix of instrumented and plain frames.
if(PZ_SANITIZE)
  add_compile_options(-fsanitize=${PZ_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${PZ_SANITIZE})
endif()
