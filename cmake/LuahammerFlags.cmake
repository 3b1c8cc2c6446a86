# Compiler and sanitizer flags shared by Lua, every luahammer target and the user's
# targets handed to the helpers, so the code under test and Lua itself are instrumented the
# same way.
#
# LUAHAMMER_MODE picks a preset-like set in one cache variable (a binding's own project
# sets only this): asan, fuzz, tsan, coverage, or custom (the default: the individual
# variables LUAHAMMER_SANITIZERS, LUAHAMMER_FUZZING and LUAHAMMER_COVERAGE as given; this
# is what luahammer's own presets use).
if(LUAHAMMER_MODE STREQUAL "asan")
  set(LUAHAMMER_SANITIZERS "address;undefined")
  set(LUAHAMMER_FUZZING OFF)
  set(LUAHAMMER_COVERAGE OFF)
elseif(LUAHAMMER_MODE STREQUAL "fuzz")
  set(LUAHAMMER_SANITIZERS "address;undefined")
  set(LUAHAMMER_FUZZING ON)
  set(LUAHAMMER_COVERAGE OFF)
elseif(LUAHAMMER_MODE STREQUAL "tsan")
  set(LUAHAMMER_SANITIZERS "thread")
  set(LUAHAMMER_FUZZING OFF)
  set(LUAHAMMER_COVERAGE OFF)
elseif(LUAHAMMER_MODE STREQUAL "coverage")
  set(LUAHAMMER_SANITIZERS "")
  set(LUAHAMMER_FUZZING OFF)
  set(LUAHAMMER_COVERAGE ON)
elseif(NOT LUAHAMMER_MODE STREQUAL "custom")
  message(FATAL_ERROR "LUAHAMMER_MODE=${LUAHAMMER_MODE}: known modes are asan, fuzz, tsan, coverage and custom")
endif()
if(LUAHAMMER_FUZZING OR LUAHAMMER_COVERAGE)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang" OR NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "luahammer's fuzzing and coverage modes need clang for C and C++ "
                        "(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++); this is "
                        "${CMAKE_C_COMPILER_ID} and ${CMAKE_CXX_COMPILER_ID}")
  endif()
endif()

# Asserts stay on in every build type: Lua's API checks and ours rely on them.
# (Normal variables: they shadow the cache entries CMake initialised.)
foreach(lang C CXX)
  foreach(cfg RELEASE MINSIZEREL)
    string(REPLACE "-DNDEBUG" "" CMAKE_${lang}_FLAGS_${cfg} "${CMAKE_${lang}_FLAGS_${cfg}}")
  endforeach()
  set(CMAKE_${lang}_FLAGS_RELWITHDEBINFO "-O1 -g")
  if(LUAHAMMER_FUZZING)
    # Fuzzing builds spend their life executing: -O2 is about 8% less CPU per input than -O1
    # on the op targets (replays measured side by side, docs/performance.md); detection is
    # proven under it by ci/canaries.sh, which fuzzes the canary-fuzz preset.
    set(CMAKE_${lang}_FLAGS_RELWITHDEBINFO "-O2 -g")
  endif()
endforeach()

set(LUAHAMMER_SANITIZER_FLAGS "")
if(LUAHAMMER_SANITIZERS)
  list(JOIN LUAHAMMER_SANITIZERS "," _sanitizers)
  list(APPEND LUAHAMMER_SANITIZER_FLAGS "-fsanitize=${_sanitizers}" "-fno-omit-frame-pointer"
       "-fno-sanitize-recover=all")
  if("address" IN_LIST LUAHAMMER_SANITIZERS)
    # For Lua's objects only, as Lua's own makefile suggests for its test builds (checked
    # at run time with detect_invalid_pointer_pairs=1: 2 also flags comparisons with a null
    # pointer, which lobject.c l_str2d makes). Not for C++ code: libstdc++'s
    # std::less on unrelated strings (basic_string::_M_disjunct) is a false positive.
    # In clang 14 UBSan's pointer-overflow check emits a comparison that pointer-compare
    # then flags (lstate.c stack_init), so Lua's objects trade that one UBSan check.
    # Not in fuzzing builds: campaigns fuzz light (no detect_invalid_pointer_pairs, so the
    # checks would be calls that return at once, 3% of an op target's time measured in
    # docs/performance.md); the asan presets' tests and regressions keep them.
    if(NOT LUAHAMMER_FUZZING)
      set(LUAHAMMER_LUA_POINTER_FLAGS "-fsanitize=pointer-compare,pointer-subtract")
    endif()
    if("undefined" IN_LIST LUAHAMMER_SANITIZERS)
      list(APPEND LUAHAMMER_LUA_POINTER_FLAGS "-fno-sanitize=pointer-overflow")
    endif()
  endif()
  if("thread" IN_LIST LUAHAMMER_SANITIZERS AND "address" IN_LIST LUAHAMMER_SANITIZERS)
    message(FATAL_ERROR "LUAHAMMER_SANITIZERS: thread and address cannot be combined")
  endif()
endif()
if(LUAHAMMER_FUZZING)
  if(NOT LUAHAMMER_FUZZING_ENGINE)
    list(APPEND LUAHAMMER_SANITIZER_FLAGS "-fsanitize=fuzzer-no-link")
  endif()  # else the engine's CFLAGS/CXXFLAGS (OSS-Fuzz, ClusterFuzzLite) carry it
endif()
if(LUAHAMMER_COVERAGE)
  list(APPEND LUAHAMMER_SANITIZER_FLAGS "-fprofile-instr-generate" "-fcoverage-mapping")
endif()
add_compile_options(${LUAHAMMER_SANITIZER_FLAGS})
add_link_options(${LUAHAMMER_SANITIZER_FLAGS})

# The symbols instrumented objects reference, per mode (check_instrumented.cmake).
set(LUAHAMMER_EXPECTED_INSTRUMENTATION "")
if("address" IN_LIST LUAHAMMER_SANITIZERS)
  list(APPEND LUAHAMMER_EXPECTED_INSTRUMENTATION "__asan_report_")
endif()
if("thread" IN_LIST LUAHAMMER_SANITIZERS)
  list(APPEND LUAHAMMER_EXPECTED_INSTRUMENTATION "__tsan_read")
endif()
if("undefined" IN_LIST LUAHAMMER_SANITIZERS)
  list(APPEND LUAHAMMER_EXPECTED_INSTRUMENTATION "__ubsan_handle_")
endif()
if(LUAHAMMER_FUZZING)
  list(APPEND LUAHAMMER_EXPECTED_INSTRUMENTATION "__sanitizer_cov_")
endif()
if(LUAHAMMER_COVERAGE)
  list(APPEND LUAHAMMER_EXPECTED_INSTRUMENTATION "__llvm_profile_runtime")
endif()

# luahammer::instrumentation: the same flags as usage requirements, for the user's code
# (luahammer_instrument and the helpers link it): sanitizers, fuzzer-no-link, coverage,
# debug info, and asserts on whatever the user's build type says (-UNDEBUG comes after the
# build type's -DNDEBUG on the command line).
add_library(luahammer_instrumentation INTERFACE)
add_library(luahammer::instrumentation ALIAS luahammer_instrumentation)
target_compile_options(luahammer_instrumentation INTERFACE ${LUAHAMMER_SANITIZER_FLAGS} -g -UNDEBUG)
target_link_options(luahammer_instrumentation INTERFACE ${LUAHAMMER_SANITIZER_FLAGS})

# Warnings for luahammer's own code (not for Lua's sources).
set(LUAHAMMER_WARNING_FLAGS -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Wunused -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
if(LUAHAMMER_WERROR)
  list(APPEND LUAHAMMER_WARNING_FLAGS -Werror)
endif()

# What the helpers read wherever they are called from: a binding's folder does not see
# this folder's variables, and LUAHAMMER_MODE may have overridden the cache entries.
set(LUAHAMMER_ACTIVE_SANITIZERS "${LUAHAMMER_SANITIZERS}" CACHE INTERNAL "sanitizers in effect")
set(LUAHAMMER_ACTIVE_FUZZING "${LUAHAMMER_FUZZING}" CACHE INTERNAL "fuzzing in effect")
set(LUAHAMMER_EXPECTED_INSTRUMENTATION "${LUAHAMMER_EXPECTED_INSTRUMENTATION}" CACHE INTERNAL
    "symbols instrumented objects reference")
