# Writes pizzeria.1 from the executable's own --help (help2man), with the
# --help of every command in a COMMANDS section, so the man page says what
# the program says. Run by the build (cmake/Packaging.cmake):
#   cmake -DPIZZERIA=<exe> -DHELP2MAN=<help2man> -DOUTPUT=<pizzeria.1> -P ManPage.cmake
execute_process(COMMAND ${PIZZERIA} --help OUTPUT_VARIABLE top RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${PIZZERIA} --help failed (${status})")
endif()
# The command names: the lines of CLI11's "Subcommands:" list.
string(REGEX REPLACE ".*\nSubcommands:\n" "" listed "${top}")
string(REGEX MATCHALL "(^|\n)  [a-z][a-z-]*" names "${listed}")
set(include_text "[COMMANDS]\n")
foreach(name IN LISTS names)
  string(STRIP "${name}" name)
  execute_process(COMMAND ${PIZZERIA} ${name} --help OUTPUT_VARIABLE help RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${PIZZERIA} ${name} --help failed (${status})")
  endif()
  # roff: a leading dot or quote would be a request, a backslash an escape.
  string(REPLACE "\\" "\\e" help "${help}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
  string(APPEND include_text ".SS ${name}\n.nf\n${help}.fi\n")
endforeach()
get_filename_component(dir ${OUTPUT} DIRECTORY)
file(WRITE ${dir}/commands.h2m "${include_text}")
execute_process(
  COMMAND ${HELP2MAN} --no-info --section 1
          --name "C++20 concurrency toolkit's programs and the pizza-ordering service"
          --include ${dir}/commands.h2m --output ${OUTPUT} ${PIZZERIA}
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "help2man failed (${status})")
endif()
