# Compiler and sanitizer flags shared by Lua and every luahammer target, so the code
# under test and Lua itself are instrumented the same way.

# Asserts stay on in every build type: Lua's API checks and ours rely on them.
# (Normal variables: they shadow the cache entries CMake initialised.)
foreach(lang C CXX)
  foreach(cfg RELEASE MINSIZEREL)
    string(REPLACE "-DNDEBUG" "" CMAKE_${lang}_FLAGS_${cfg} "${CMAKE_${lang}_FLAGS_${cfg}}")
  endforeach()
  set(CMAKE_${lang}_FLAGS_RELWITHDEBINFO "-O1 -g")
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
    set(LUAHAMMER_LUA_POINTER_FLAGS "-fsanitize=pointer-compare,pointer-subtract")
    if("undefined" IN_LIST LUAHAMMER_SANITIZERS)
      list(APPEND LUAHAMMER_LUA_POINTER_FLAGS "-fno-sanitize=pointer-overflow")
    endif()
  endif()
  if("thread" IN_LIST LUAHAMMER_SANITIZERS AND "address" IN_LIST LUAHAMMER_SANITIZERS)
    message(FATAL_ERROR "LUAHAMMER_SANITIZERS: thread and address cannot be combined")
  endif()
endif()
if(LUAHAMMER_FUZZING)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "LUAHAMMER_FUZZING needs clang (libFuzzer); this is ${CMAKE_CXX_COMPILER_ID}")
  endif()
  if(NOT LUAHAMMER_FUZZING_ENGINE)
    list(APPEND LUAHAMMER_SANITIZER_FLAGS "-fsanitize=fuzzer-no-link")
  endif()  # else the engine's CFLAGS/CXXFLAGS (OSS-Fuzz, ClusterFuzzLite) carry it
endif()
if(LUAHAMMER_COVERAGE)
  list(APPEND LUAHAMMER_SANITIZER_FLAGS "-fprofile-instr-generate" "-fcoverage-mapping")
endif()
add_compile_options(${LUAHAMMER_SANITIZER_FLAGS})
add_link_options(${LUAHAMMER_SANITIZER_FLAGS})

# Warnings for luahammer's own code (not for Lua's sources).
set(LUAHAMMER_WARNING_FLAGS -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Wunused -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
if(LUAHAMMER_WERROR)
  list(APPEND LUAHAMMER_WARNING_FLAGS -Werror)
endif()
