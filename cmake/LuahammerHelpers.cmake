# Small helpers so adding a component or a test is one line.

# Set by whoever includes this file (luahammer's CMakeLists.txt, or luahammerConfig.cmake
# after an install): LUAHAMMER_SOURCE_DIR (where modules/module_fuzzer.cc, fuzz/replay_main.cc
# and cmake/check_instrumented.cmake are), LUAHAMMER_LUA_TARGET and
# LUAHAMMER_INSTRUMENTATION_TARGET (the targets' names there), and the LUAHAMMER_ACTIVE_*
# values of the mode.

# luahammer_instrument(<target>…)
# Makes a target of the user's project code under test, as luahammer's own code is: the
# mode's sanitizer, fuzzing and coverage flags, debug info, asserts on (no NDEBUG), and
# luahammer's Lua headers ahead of any other lua.h. The user's own static and object
# libraries it links are instrumented too. Fails the configure with one line when that
# cannot be done (an imported target, NDEBUG defined by the target itself).
function(luahammer_instrument)
  foreach(target ${ARGN})
    _luahammer_instrument_one(${target} "${target}")
  endforeach()
endfunction()

function(_luahammer_instrument_one target chain)
  if(NOT TARGET ${target})
    message(FATAL_ERROR "luahammer: no target '${target}' to instrument")
  endif()
  get_target_property(aliased ${target} ALIASED_TARGET)
  if(aliased)
    set(target ${aliased})
  endif()
  get_target_property(done ${target} LUAHAMMER_INSTRUMENTED)
  if(done)
    return()
  endif()
  get_target_property(imported ${target} IMPORTED)
  get_target_property(type ${target} TYPE)
  if(imported)
    message(FATAL_ERROR "luahammer: ${chain} is an imported target, compiled outside this build and so "
                        "uninstrumented; hand luahammer the library target your project builds from source")
  endif()
  if(type STREQUAL "INTERFACE_LIBRARY" OR type STREQUAL "UTILITY")
    return()  # no code of its own
  endif()
  foreach(property COMPILE_DEFINITIONS COMPILE_OPTIONS INTERFACE_COMPILE_DEFINITIONS)
    get_target_property(values ${target} ${property})
    if(values AND values MATCHES "(^|;|-D)NDEBUG(=[^;]*)?(;|$)")
      message(FATAL_ERROR "luahammer: ${chain} defines NDEBUG (${property}), which turns off the asserts "
                          "the fuzzer relies on; define it only outside LUAHAMMER_MODE builds")
    endif()
    if(values AND values MATCHES "(^|;)(-fno-sanitize=|-fno-sanitize-coverage|-fsanitize-coverage=0|-fno-profile-instr-generate)")
      message(FATAL_ERROR "luahammer: ${chain} turns instrumentation off in ${property} (${values})")
    endif()
  endforeach()
  target_compile_options(${target} PRIVATE $<TARGET_PROPERTY:${LUAHAMMER_INSTRUMENTATION_TARGET},INTERFACE_COMPILE_OPTIONS>)
  target_link_options(${target} PRIVATE $<TARGET_PROPERTY:${LUAHAMMER_INSTRUMENTATION_TARGET},INTERFACE_LINK_OPTIONS>)
  target_include_directories(${target} SYSTEM BEFORE PRIVATE $<TARGET_PROPERTY:${LUAHAMMER_LUA_TARGET},INTERFACE_INCLUDE_DIRECTORIES>)
  set_property(TARGET ${target} PROPERTY LUAHAMMER_INSTRUMENTED ON)
  # What it links that this project builds is code under test too.
  get_target_property(links ${target} LINK_LIBRARIES)
  if(links)
    foreach(link ${links})
      if(TARGET ${link} AND NOT link MATCHES "^(luahammer|cxxlua|Threads::|GTest::)")
        get_target_property(link_imported ${link} IMPORTED)
        if(NOT link_imported)
          _luahammer_instrument_one(${link} "${chain} -> ${link}")
        endif()
      endif()
    endforeach()
  endif()
endfunction()

# luahammer_add_instrumentation_test(<static library target>)
# A ctest, luahammer_instrumented.<target>, that fails unless the library's objects
# reference the mode's sanitizer and coverage hooks: proof the code under test is
# instrumented, not just configured to be.
function(luahammer_add_instrumentation_test target)
  get_target_property(type ${target} TYPE)
  if(NOT type STREQUAL "STATIC_LIBRARY" OR NOT LUAHAMMER_EXPECTED_INSTRUMENTATION)
    return()
  endif()
  add_test(NAME luahammer_instrumented.${target}
           COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM} -DLIB=$<TARGET_FILE:${target}>
                   "-DEXPECT=${LUAHAMMER_EXPECTED_INSTRUMENTATION}" -P ${LUAHAMMER_SOURCE_DIR}/cmake/check_instrumented.cmake)
  set_tests_properties(luahammer_instrumented.${target} PROPERTIES LABELS unit)
endfunction()

# luahammer_static_twin(<out var> <name> <target>)
# A Lua C module is usually a MODULE (or SHARED) library that `require` dlopens; a fuzzer
# links the code in. The twin is a static library of the same sources, include folders,
# definitions, options and language level, linking what the module links except a Lua
# library.
function(luahammer_static_twin out name target)
  get_target_property(sources ${target} SOURCES)
  get_target_property(dir ${target} SOURCE_DIR)
  set(absolute "")
  foreach(source ${sources})
    if(source MATCHES "^\\$<")
      message(FATAL_ERROR "luahammer: ${target}'s sources use a generator expression (${source}); "
                          "hand luahammer a STATIC or OBJECT library of the module's code instead")
    endif()
    if(NOT IS_ABSOLUTE ${source})
      set(source ${dir}/${source})
    endif()
    list(APPEND absolute ${source})
  endforeach()
  set(twin luahammer_${name}_code)
  add_library(${twin} STATIC ${absolute})
  target_include_directories(${twin} PRIVATE $<TARGET_PROPERTY:${target},INCLUDE_DIRECTORIES>)
  target_compile_definitions(${twin} PRIVATE $<TARGET_PROPERTY:${target},COMPILE_DEFINITIONS>)
  target_compile_options(${twin} PRIVATE $<TARGET_PROPERTY:${target},COMPILE_OPTIONS>)
  # The language level too (a C++17 binding library does not compile as C++14).
  get_target_property(features ${target} COMPILE_FEATURES)
  if(features)
    target_compile_features(${twin} PRIVATE ${features})
  endif()
  foreach(property C_STANDARD C_EXTENSIONS CXX_STANDARD CXX_STANDARD_REQUIRED CXX_EXTENSIONS)
    get_target_property(value ${target} ${property})
    if(NOT value STREQUAL "value-NOTFOUND")
      set_target_properties(${twin} PROPERTIES ${property} ${value})
    endif()
  endforeach()
  get_target_property(links ${target} LINK_LIBRARIES)
  if(links)
    foreach(link ${links})
      # luahammer's Lua is the Lua: a system liblua or a Lua target would be a second copy.
      if(link MATCHES "(^|/|::)(lib)?[Ll]ua(jit)?[-0-9.]*(\\.so[.0-9]*|\\.a)?$" OR link MATCHES "^Lua::")
        continue()
      endif()
      target_link_libraries(${twin} PUBLIC ${link})
    endforeach()
  endif()
  set(${out} ${twin} PARENT_SCOPE)
endfunction()

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

# luahammer_link_fuzzing_engine(<target>): links a fuzz target with the engine
# (LUAHAMMER_FUZZING_ENGINE, e.g. OSS-Fuzz's $LIB_FUZZING_ENGINE; default libFuzzer) and
# adds it to `luahammer_fuzzers`.
function(luahammer_link_fuzzing_engine target)
  if(LUAHAMMER_FUZZING_ENGINE)
    separate_arguments(engine UNIX_COMMAND "${LUAHAMMER_FUZZING_ENGINE}")
    target_link_options(${target} PRIVATE ${engine})
  else()
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
  endif()
  add_dependencies(luahammer_fuzzers ${target})
endfunction()

# luahammer_add_fuzzer(<name> [SMOKE_RUNS n] [SOURCE file] [ROLE campaign|comparison])
# Adds, from fuzz/<name>_fuzzer.cc (or SOURCE) with <name>.dict and <name>.options beside it:
#  - <name>_fuzzer: the libFuzzer binary (fuzz preset only);
#  - <name>_replay: the standalone replay binary (every preset; --explain prints an input);
#  - ctest fuzz-smoke: the seed corpus corpus/<name>/ replayed, plus (fuzz preset) a short
#    libFuzzer run from it into a scratch corpus in the build tree;
#  - ctest regression: corpus/regressions/<name>/ replayed;
#  - a row of the build tree's manifest (luahammer_manifest_row).
function(luahammer_add_fuzzer name)
  cmake_parse_arguments(ARG "" "SMOKE_RUNS;SOURCE;ROLE" "" ${ARGN})
  if(NOT ARG_SMOKE_RUNS)
    set(ARG_SMOKE_RUNS 300)
  endif()
  if(NOT ARG_ROLE)
    set(ARG_ROLE campaign)
  endif()
  set(source ${CMAKE_CURRENT_SOURCE_DIR}/${name}_fuzzer.cc)
  if(ARG_SOURCE)
    set(source ${ARG_SOURCE})
  endif()
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
    add_test(NAME regression.${name} COMMAND ${name}_replay --check-decoding ${regressions})
    set_tests_properties(regression.${name} PROPERTIES LABELS regression TIMEOUT 300)
  endif()

  if(LUAHAMMER_ACTIVE_FUZZING)
    add_executable(${name}_fuzzer ${source})
    target_link_libraries(${name}_fuzzer PRIVATE luahammer_fuzz_common)
    luahammer_link_fuzzing_engine(${name}_fuzzer)
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
  luahammer_manifest_row(${name} ${ARG_ROLE} ${name}_replay ${seeds} ${regressions}
                         ${CMAKE_CURRENT_SOURCE_DIR}/${name}.options)
endfunction()

# luahammer_manifest_row(<name> <role> <replay target> <seeds> <regressions> <options file>)
# One row of the build tree's manifest, luahammer-targets.tsv (written at the end of the
# configure by luahammer_write_manifest): what the nightly campaign and the scripts read
# to find every fuzz target of this build, wherever it was added. Columns, tab-separated:
# name, role (campaign, comparison, module), fuzzer binary (- without LUAHAMMER_FUZZING),
# replay binary, seeds folder, regressions folder, libFuzzer options file.
function(luahammer_manifest_row name role replay seeds regressions options)
  set(fuzzer "-")
  if(TARGET ${name}_fuzzer)
    set(fuzzer "$<TARGET_FILE:${name}_fuzzer>")
  endif()
  set(tab "\t")
  set_property(GLOBAL APPEND PROPERTY LUAHAMMER_MANIFEST_ROWS
               "${name}${tab}${role}${tab}${fuzzer}${tab}$<TARGET_FILE:${replay}>${tab}${seeds}${tab}${regressions}${tab}${options}")
endfunction()

function(luahammer_write_manifest)
  get_property(rows GLOBAL PROPERTY LUAHAMMER_MANIFEST_ROWS)
  list(JOIN rows "\n" content)
  file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/luahammer-targets.tsv
       CONTENT "# name\trole\tfuzzer\treplay\tseeds\tregressions\toptions\n${content}\n")
endfunction()

# luahammer_add_module_fuzzer(<name> OPEN <luaopen_x>
#                             {TARGETS <the module's library target>… |
#                              DIR <source folder> SOURCES <file>… [INCLUDES <dir>…] [DEFINES <def>…]
#                              [LIBS <library the sources link against>…]}
#                             [MODULE <require name>] [DICT <hand-written .dict>]
#                             [EXCLUDE <callable never called>…] [CORPUS_ROOT <folder>])
# Fuzzes a Lua C module luahammer has never seen (harness/module/). TARGETS: the user's own
# targets, instrumented with the mode (luahammer_instrument; a MODULE or SHARED library
# through a static twin). DIR/SOURCES: sources outside any target, compiled here with our
# Lua and the mode's flags. Adds:
#  - module_<name>_fuzzer (fuzzing builds) and module_<name>_replay (every build);
#  - module_<name>_api: prints the discovered API; module_<name>.dict is the DICT file plus
#    the discovered names, and module_<name>.options beside the binaries;
#  - ctest: luahammer_instrumented.<library> (its objects carry the mode's hooks),
#    CORPUS_ROOT/module_<name>/ (fuzz-smoke) and CORPUS_ROOT/regressions/module_<name>/
#    (regression) replayed; CORPUS_ROOT defaults to luahammer's corpus/;
#  - a row of the build tree's manifest, so `luahammer fuzz --build-dir` finds it.
# EXCLUDE: callables that cannot be contained or are not bugs when they misbehave (a sleep
# for a fuzzed number of seconds, an exit), as "socket.core.sleep" or "lfs:lock"; they join
# LUAHAMMER_EXCLUDE. The fuzzer and the replay run contained (containment.hpp).
# When DIR does not exist the module is skipped with a message saying how to get it.
function(luahammer_add_module_fuzzer name)
  cmake_parse_arguments(ARG "" "DIR;OPEN;MODULE;DICT;FETCH;CORPUS_ROOT" "SOURCES;INCLUDES;DEFINES;TARGETS;LIBS;EXCLUDE"
                        ${ARGN})
  if(NOT ARG_CORPUS_ROOT)
    set(ARG_CORPUS_ROOT ${LUAHAMMER_SOURCE_DIR}/corpus)
  endif()
  if(NOT ARG_MODULE)
    set(ARG_MODULE ${name})
  endif()
  if(NOT ARG_OPEN OR NOT ((ARG_SOURCES AND ARG_DIR) OR ARG_TARGETS))
    message(FATAL_ERROR "luahammer_add_module_fuzzer(${name}): OPEN and either TARGETS or DIR with SOURCES are required")
  endif()
  if(LUAHAMMER_LUA_AS_CXX)
    # Lua compiled as C++ has C++ linkage: C++ bindings link against it (and their errors
    # unwind through C++ destructors, as sol2 recommends); C sources cannot.
    set(c_sources "")
    foreach(target ${ARG_TARGETS})
      if(TARGET ${target})
        get_target_property(target_sources ${target} SOURCES)
        list(APPEND c_sources ${target_sources})
      endif()
    endforeach()
    list(APPEND c_sources ${ARG_SOURCES})
    list(FILTER c_sources INCLUDE REGEX "\\.c$")
    if(c_sources)
      message(STATUS "module fuzzer ${name}: skipped (C sources cannot link against Lua built as C++; "
                     "configure with LUAHAMMER_LUA_AS_CXX=OFF)")
      return()
    endif()
  endif()
  set(code "")
  if(ARG_TARGETS)
    # The user's own library targets: instrumented in place (static, object), or through
    # a static twin (a MODULE or SHARED library, as `require` loads it).
    foreach(target ${ARG_TARGETS})
      if(NOT TARGET ${target})
        message(FATAL_ERROR "luahammer_add_module_fuzzer(${name}): no target '${target}'")
      endif()
      get_target_property(type ${target} TYPE)
      if(type STREQUAL "MODULE_LIBRARY" OR type STREQUAL "SHARED_LIBRARY")
        # The module itself still builds in this tree: against luahammer's Lua headers.
        target_include_directories(${target} SYSTEM BEFORE PRIVATE
                                   $<TARGET_PROPERTY:${LUAHAMMER_LUA_TARGET},INTERFACE_INCLUDE_DIRECTORIES>)
        luahammer_static_twin(twin ${name} ${target})
        luahammer_instrument(${twin})
        target_link_libraries(${twin} PUBLIC luahammer::lua)
        list(APPEND code ${twin})
      else()
        luahammer_instrument(${target})
        list(APPEND code ${target})
      endif()
    endforeach()
  endif()
  if(ARG_SOURCES)
    if(NOT EXISTS ${ARG_DIR})
      set(how "")
      if(ARG_FETCH)
        set(how "; run `ci/fetch-module.sh ${ARG_FETCH}` and configure again")
      endif()
      message(STATUS "module fuzzer ${name}: skipped, no source in ${ARG_DIR}${how}")
      return()
    endif()
    list(TRANSFORM ARG_SOURCES PREPEND ${ARG_DIR}/)
    set(lib luahammer_module_${name})
    add_library(${lib} STATIC ${ARG_SOURCES})
    target_include_directories(${lib} PRIVATE ${ARG_DIR} ${ARG_INCLUDES})
    target_compile_definitions(${lib} PRIVATE ${ARG_DEFINES})
    target_link_libraries(${lib} PUBLIC luahammer::lua ${ARG_LIBS})
    target_compile_options(${lib} PRIVATE -w)  # third-party code: its warnings are not ours
    luahammer_instrument(${lib})
    list(APPEND code ${lib})
  endif()
  foreach(lib ${code})
    luahammer_add_instrumentation_test(${lib})
  endforeach()

  set(main ${LUAHAMMER_SOURCE_DIR}/modules/module_fuzzer.cc)
  list(JOIN ARG_EXCLUDE "," exclude)
  set(defs LUAHAMMER_MODULE_OPEN=${ARG_OPEN} LUAHAMMER_MODULE_NAME="${ARG_MODULE}"
           LUAHAMMER_MODULE_EXCLUDE="${exclude}")
  set(target module_${name})
  add_executable(${target}_replay ${main} ${LUAHAMMER_SOURCE_DIR}/fuzz/replay_main.cc)
  add_executable(${target}_api ${main})
  target_compile_definitions(${target}_api PRIVATE ${defs} LUAHAMMER_MODULE_API_MAIN)
  target_compile_definitions(${target}_replay PRIVATE ${defs})
  set(exes ${target}_replay ${target}_api)
  if(LUAHAMMER_ACTIVE_FUZZING)
    add_executable(${target}_fuzzer ${main})
    target_compile_definitions(${target}_fuzzer PRIVATE ${defs})
    luahammer_link_fuzzing_engine(${target}_fuzzer)
    list(APPEND exes ${target}_fuzzer)
  endif()
  foreach(exe ${exes})
    target_link_libraries(${exe} PRIVATE luahammer::module ${code})
    luahammer_target_warnings(${exe})
    luahammer_instrument(${exe})  # made in the caller's folder: luahammer's flags do not reach it
  endforeach()

  # The dictionary: hand-written entries plus the names the module itself exports.
  set(dict ${CMAKE_CURRENT_BINARY_DIR}/${target}.dict)
  if(NOT ARG_DICT)
    set(ARG_DICT ${LUAHAMMER_SOURCE_DIR}/modules/empty.dict)
  endif()
  add_custom_command(OUTPUT ${dict}
    COMMAND ${target}_api --dict ${ARG_DICT} > ${dict}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${dict}.tmp ${dict}
    DEPENDS ${target}_api ${ARG_DICT}
    COMMENT "Deriving ${target}.dict from the module's API")
  add_custom_target(${target}_dict ALL DEPENDS ${dict})
  # len_control = 0: inputs up to max_len from the start. A module target starts from an
  # empty corpus and may run slowly (a binding's set-up is in every input); libFuzzer's
  # default grows the length limit from 4 bytes only after runs without new coverage, so
  # a slow target would fuzz 4-byte inputs (no steps at all) for its first minutes.
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/${target}.options
       "[libfuzzer]\nmax_len = 4096\nlen_control = 0\ntimeout = 25\nrss_limit_mb = 2560\nclose_fd_mask = 1\ndict = ${target}.dict\n")

  add_test(NAME module_api.${name} COMMAND ${target}_api)
  set_tests_properties(module_api.${name} PROPERTIES LABELS unit)
  set(seeds ${ARG_CORPUS_ROOT}/${target})
  if(EXISTS ${seeds})
    add_test(NAME fuzz_smoke.${target}.seeds COMMAND ${target}_replay ${seeds})
    set_tests_properties(fuzz_smoke.${target}.seeds PROPERTIES LABELS fuzz-smoke TIMEOUT 300)
  endif()
  # Regressions: a reproducer replays clean (the module was fixed), or, with a
  # <file>.expect beside it, still gives the report it names: a bug of the third-party
  # module that upstream has not fixed. .expect holds two lines:
  #   needs: <sanitizer that reports it, or none>
  #   report: <regular expression for the report's first line>
  set(regressions ${ARG_CORPUS_ROOT}/regressions/${target})
  luahammer_manifest_row(${target} module ${target}_replay ${seeds} ${regressions}
                         ${CMAKE_CURRENT_BINARY_DIR}/${target}.options)
  if(EXISTS ${regressions})
    # A reproducer added, or an .expect edited, configures again at the next build.
    file(GLOB inputs LIST_DIRECTORIES false CONFIGURE_DEPENDS ${regressions}/*)
    list(FILTER inputs EXCLUDE REGEX "\\.expect$")
    foreach(input ${inputs})
      get_filename_component(id ${input} NAME)
      set(test regression.${target}.${id})
      if(EXISTS ${input}.expect)
        set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${input}.expect)
        file(STRINGS ${input}.expect needs REGEX "^needs: ")
        file(STRINGS ${input}.expect report REGEX "^report: ")
        string(REGEX REPLACE "^needs: " "" needs "${needs}")
        string(REGEX REPLACE "^report: " "" report "${report}")
        if(NOT report OR NOT needs)
          message(FATAL_ERROR "${input}.expect needs the lines 'needs: …' and 'report: …'")
        endif()
        if(needs STREQUAL "none" OR needs IN_LIST LUAHAMMER_ACTIVE_SANITIZERS)
          add_test(NAME ${test} COMMAND ${target}_replay ${input})
          # The report must end the process by exit status, not by a signal, which ctest
          # counts as a failure whatever the output says.
          set_tests_properties(${test} PROPERTIES LABELS regression TIMEOUT 300
                               PASS_REGULAR_EXPRESSION "${report}"
                               ENVIRONMENT "ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:detect_leaks=1;UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
        endif()
      else()
        add_test(NAME ${test} COMMAND ${target}_replay ${input})
        set_tests_properties(${test} PROPERTIES LABELS regression TIMEOUT 300)
      endif()
    endforeach()
  endif()
endfunction()
