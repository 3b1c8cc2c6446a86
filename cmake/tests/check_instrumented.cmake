# cmake -DNM=<nm> -DLIB=<archive> -DEXPECT=<prefix;…> -P check_instrumented.cmake
# Fails unless every expected symbol prefix is referenced by the archive's objects.
execute_process(COMMAND ${NM} -u ${LIB} OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cannot list symbols of ${LIB} with ${NM}")
endif()
foreach(prefix IN LISTS EXPECT)
  string(FIND "${symbols}" "${prefix}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "Lua objects in ${LIB} are not instrumented: no reference to ${prefix}*")
  endif()
  message(STATUS "Lua objects reference ${prefix}*")
endforeach()
