# cmake -DNM=<nm> -DLIB=<archive> -DEXPECT=<prefix;…> -P check_instrumented.cmake
# Fails unless every expected symbol prefix is referenced by the archive's objects: the
# proof that code was compiled with the mode's instrumentation (luahammer's Lua, a user's
# module).
execute_process(COMMAND ${NM} -u ${LIB} OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cannot list symbols of ${LIB} with ${NM}")
endif()
foreach(prefix IN LISTS EXPECT)
  string(FIND "${symbols}" "${prefix}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "objects in ${LIB} are not instrumented: no reference to ${prefix}*")
  endif()
  message(STATUS "objects in ${LIB} reference ${prefix}*")
endforeach()
