# Small helpers so adding a component or a test is one line.

# luahammer_target_warnings(<target>): our warning set (errors when LUAHAMMER_WERROR).
function(luahammer_target_warnings target)
  target_compile_options(${target} PRIVATE ${LUAHAMMER_WARNING_FLAGS})
endfunction()

# luahammer_add_gtest(<name> SOURCES … LIBS … [LABELS …])
# One GoogleTest executable; every test in it becomes a ctest test with the labels
# (default: unit).
function(luahammer_add_gtest name)
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
