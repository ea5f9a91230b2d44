# ctest's consumers of tramp (tests/CMakeLists.txt):
#   -DMODE=install       cmake --install BUILD --prefix WORK/prefix, then the find_package C++
#                        consumer (cmake_package/) and the pkg-config C consumer (pkgconfig_c/)
#                        built and run against that prefix
#   -DMODE=subdirectory  subdirectory/: tramp's source tree added with add_subdirectory
# Other variables: SRC (tramp's source), BUILD (its build tree), WORK (a scratch directory),
# GENERATOR, CC, CXX.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}")
  endif()
  message(STATUS "ok: ${ARGV0} ${ARGV1} ${ARGV2}\n${out}")
endfunction()

set(consumers ${SRC}/tests/consumers)
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
set(configure ${CMAKE_COMMAND} -G ${GENERATOR} -DCMAKE_C_COMPILER=${CC} -DCMAKE_CXX_COMPILER=${CXX})

if(MODE STREQUAL "install")
  run(${CMAKE_COMMAND} --install ${BUILD} --prefix ${WORK}/prefix)
  foreach(f include/tramp/tramp.h include/tramp/tramp.hpp bin/tramp)
    if(NOT EXISTS ${WORK}/prefix/${f})
      message(FATAL_ERROR "not installed: ${f}")
    endif()
  endforeach()
  run(${WORK}/prefix/bin/tramp call libc.so.6 "int abs(int)" -7)
  run(${configure} -S ${consumers}/cmake_package -B ${WORK}/cmake_package -DCMAKE_PREFIX_PATH=${WORK}/prefix)
  run(${CMAKE_COMMAND} --build ${WORK}/cmake_package)
  run(${WORK}/cmake_package/consumer_shared)
  run(${WORK}/cmake_package/consumer_static)
  run(${consumers}/pkgconfig_c/build.sh ${WORK}/prefix ${WORK}/pkgconfig_c ${CC})
elseif(MODE STREQUAL "subdirectory")
  run(${configure} -S ${consumers}/subdirectory -B ${WORK}/subdirectory -DTRAMP_SOURCE_DIR=${SRC})
  run(${CMAKE_COMMAND} --build ${WORK}/subdirectory)
  run(${WORK}/subdirectory/consumer_shared)
  run(${WORK}/subdirectory/consumer_static)
else()
  message(FATAL_ERROR "MODE is install or subdirectory, not '${MODE}'")
endif()
