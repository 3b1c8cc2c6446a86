# Small helpers so adding a component or a test is one line.

# luahammer_target_warnings(<target>): our warning set (errors when LUAHAMMER_WERROR).
function(luahammer_target_warnings target)
  target_compile_options(${target} PRIVATE ${LUAHAMMER_WARNING_FLAGS})
endfunction()

# luahammer_add_gtest(<name> SOURCES … LIBS … [LABELS …])
# One GoogleTest executable; every test in it becomes a ctest test with the labels
# (default: unit).
function(luahammer_add_gtest name)
  if(NOT LUAHAMMER_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main Threads::Threads)
  target_compile_definitions(${name} PRIVATE LUAHAMMER_PRESET_NAME="${LUAHAMMER_PRESET}")
  luahammer_target_warnings(${name})
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
                       PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 300)
endfunction()

# luahammer_add_fuzzer(<name> [SMOKE_RUNS n])
# Adds, from fuzz/<name>_fuzzer.cc with <name>.dict and <name>.options beside it:
#  - <name>_fuzzer: the libFuzzer binary (fuzz preset only);
#  - <name>_replay: the standalone replay binary (every preset; --explain prints an input);
#  - ctest fuzz-smoke: the seed corpus corpus/<name>/ replayed, plus (fuzz preset) a short
#    libFuzzer run from it into a scratch corpus in the build tree;
#  - ctest regression: corpus/regressions/<name>/ replayed.
function(luahammer_add_fuzzer name)
  cmake_parse_arguments(ARG "" "SMOKE_RUNS" "" ${ARGN})
  if(NOT ARG_SMOKE_RUNS)
    set(ARG_SMOKE_RUNS 300)
  endif()
  set(source ${CMAKE_CURRENT_SOURCE_DIR}/${name}_fuzzer.cc)
  set(seeds ${PROJECT_SOURCE_DIR}/corpus/${name})
  set(regressions ${PROJECT_SOURCE_DIR}/corpus/regressions/${name})
  foreach(required ${source} ${CMAKE_CURRENT_SOURCE_DIR}/${name}.dict ${CMAKE_CURRENT_SOURCE_DIR}/${name}.options)
    if(NOT EXISTS ${required})
      message(FATAL_ERROR "luahammer_add_fuzzer(${name}): missing ${required}")
    endif()
  endforeach()

  add_executable(${name}_replay ${source} ${CMAKE_CURRENT_SOURCE_DIR}/replay_main.cc)
  target_link_libraries(${name}_replay PRIVATE luahammer_fuzz_common)
  luahammer_target_warnings(${name}_replay)

  if(EXISTS ${seeds})
    add_test(NAME fuzz_smoke.${name}.seeds COMMAND ${name}_replay ${seeds})
    set_tests_properties(fuzz_smoke.${name}.seeds PROPERTIES LABELS fuzz-smoke TIMEOUT 300)
  endif()
  if(EXISTS ${regressions})
    add_test(NAME regression.${name} COMMAND ${name}_replay ${regressions})
    set_tests_properties(regression.${name} PROPERTIES LABELS regression TIMEOUT 300)
  endif()

  if(LUAHAMMER_FUZZING)
    add_executable(${name}_fuzzer ${source})
    target_link_libraries(${name}_fuzzer PRIVATE luahammer_fuzz_common)
    if(LUAHAMMER_FUZZING_ENGINE)
      separate_arguments(_engine UNIX_COMMAND "${LUAHAMMER_FUZZING_ENGINE}")
      target_link_options(${name}_fuzzer PRIVATE ${_engine})
    else()
      target_link_options(${name}_fuzzer PRIVATE -fsanitize=fuzzer)
    endif()
    add_dependencies(luahammer_fuzzers ${name}_fuzzer)
    luahammer_target_warnings(${name}_fuzzer)
    configure_file(${CMAKE_CURRENT_SOURCE_DIR}/${name}.dict ${CMAKE_CURRENT_BINARY_DIR}/${name}.dict COPYONLY)
    configure_file(${CMAKE_CURRENT_SOURCE_DIR}/${name}.options ${CMAKE_CURRENT_BINARY_DIR}/${name}.options COPYONLY)
    set(scratch ${CMAKE_CURRENT_BINARY_DIR}/smoke-corpus/${name})
    file(MAKE_DIRECTORY ${scratch})
    if(EXISTS ${seeds})
      add_test(NAME fuzz_smoke.${name}.libfuzzer
               COMMAND ${name}_fuzzer -runs=${ARG_SMOKE_RUNS} -seed=1 -dict=${CMAKE_CURRENT_SOURCE_DIR}/${name}.dict
                       ${scratch} ${seeds})
      set_tests_properties(fuzz_smoke.${name}.libfuzzer PROPERTIES LABELS fuzz-smoke TIMEOUT 300)
    endif()
  endif()
endfunction()
