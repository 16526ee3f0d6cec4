# Runs one example and compares its standard output with the expected text,
# exactly. Usage (from CTest):
#   cmake -DEXAMPLE=<program> -DEXPECTED=<file> -P run_example.cmake
# Standard error is shown on failure but not compared: sanitizer runtimes and
# the library's diagnostics write there.
execute_process(
  COMMAND "${EXAMPLE}"
  OUTPUT_VARIABLE output
  ERROR_VARIABLE errors
  RESULT_VARIABLE status)
file(READ "${EXPECTED}" expected)
if(NOT status STREQUAL "0")
  message(FATAL_ERROR "${EXAMPLE} failed (exit status: ${status})\n"
                      "stdout:\n${output}\nstderr:\n${errors}")
endif()
if(NOT output STREQUAL expected)
  message(FATAL_ERROR "${EXAMPLE}: its output differs from ${EXPECTED}\n"
                      "--- expected\n${expected}--- got\n${output}--- stderr\n${errors}")
endif()
