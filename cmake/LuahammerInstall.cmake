# `cmake --install`: what a binding's project needs for find_package(luahammer): the Lua
# library, luahammer::core and ::module, cxxlua, luahammer::instrumentation (the mode's
# flags as usage requirements), their headers, the helper functions and the sources they
# compile (the module fuzzer's main, the replay main). An install is built for one
# LUAHAMMER_MODE; the package refuses a project asking for another.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(_config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/luahammer)
set(_share_dir ${CMAKE_INSTALL_DATADIR}/luahammer)

set_target_properties(luahammer_lua PROPERTIES EXPORT_NAME lua)
set_target_properties(luahammer_core PROPERTIES EXPORT_NAME core)
set_target_properties(luahammer_module PROPERTIES EXPORT_NAME module)
set_target_properties(luahammer_instrumentation PROPERTIES EXPORT_NAME instrumentation)
install(TARGETS luahammer_lua luahammer_core luahammer_module cxxlua luahammer_instrumentation
        EXPORT luahammerTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT luahammerTargets NAMESPACE luahammer:: DESTINATION ${_config_dir})

# Headers: Lua's (as the library was built), ours, the FuzzedDataProvider the core uses.
install(FILES ${LUAHAMMER_LUA_DIR}/src/lua.h ${LUAHAMMER_LUA_DIR}/src/luaconf.h
              ${LUAHAMMER_LUA_DIR}/src/lualib.h ${LUAHAMMER_LUA_DIR}/src/lauxlib.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/luahammer/lua)
install(FILES ${LUAHAMMER_LUA_INCLUDE_DIR}/luahammer/lua.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/luahammer)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/harness/lua/include/ ${PROJECT_SOURCE_DIR}/harness/core/include/
                  ${PROJECT_SOURCE_DIR}/harness/module/include/
                  ${PROJECT_SOURCE_DIR}/binding/include/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/fdp/fuzzer/FuzzedDataProvider.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/luahammer/fdp/fuzzer)

# The helpers and what they compile, laid out as in the source tree.
install(FILES ${PROJECT_SOURCE_DIR}/cmake/LuahammerHelpers.cmake DESTINATION ${_config_dir})
install(FILES ${PROJECT_SOURCE_DIR}/cmake/check_instrumented.cmake DESTINATION ${_share_dir}/cmake)
install(FILES ${PROJECT_SOURCE_DIR}/modules/module_fuzzer.cc ${PROJECT_SOURCE_DIR}/modules/empty.dict
        DESTINATION ${_share_dir}/modules)
install(FILES ${PROJECT_SOURCE_DIR}/fuzz/replay_main.cc DESTINATION ${_share_dir}/fuzz)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/luahammerConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/luahammerConfig.cmake
                              INSTALL_DESTINATION ${_config_dir} PATH_VARS _share_dir)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/luahammerConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/luahammerConfig.cmake ${PROJECT_BINARY_DIR}/luahammerConfigVersion.cmake
        DESTINATION ${_config_dir})

# The `luahammer` command and the campaign package it runs (fuzz, replay, explain,
# minimize, report over any build tree's manifest).
install(PROGRAMS ${PROJECT_SOURCE_DIR}/ci/luahammer DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/ci/campaign DESTINATION ${_share_dir}/python
        PATTERN "__pycache__" EXCLUDE)
