# cmake -DCOMMAND=<program;args> [-DCANARY=<name>] -P expect_failure.cmake
# Passes when COMMAND fails (non-zero exit or a crash) with LUAHAMMER_CANARY=CANARY.
if(DEFINED CANARY)
  set(ENV{LUAHAMMER_CANARY} "${CANARY}")
endif()
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "expected a failure with LUAHAMMER_CANARY=${CANARY}, but it passed:\n${out}")
endif()
string(REGEX MATCH "(luahammer: |cxxlua: |==[0-9]+==ERROR|WARNING: ThreadSanitizer|Assertion)[^\n]*" first "${err}${out}")
message(STATUS "failed as expected (${rc}): ${first}")
