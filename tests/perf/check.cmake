# cmake -DPERF=perf -DTARGET=tramp_perf_target -DWORK=dir -P check.cmake
# Profiles TARGET with `perf record -k 1` while tramp writes a jitdump file
# (TRAMP_PERF_MAP=jitdump), turns the dump into symbols with `perf inject -j`, and checks that
# `perf report` names the call stub by its signature. perf's caches go to WORK. When this
# machine does not let perf record (perf_event_paranoid, a container without perf events),
# the test says PERF-UNAVAILABLE and counts as skipped.
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
set(perf ${PERF} --buildid-dir ${WORK}/buildid)
execute_process(COMMAND ${CMAKE_COMMAND} -E env TRAMP_PERF_MAP=jitdump
                        ${perf} record -k 1 -e cpu-clock:u -o ${WORK}/perf.data -- ${TARGET}
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT out MATCHES "sum [0-9]+")
  message("PERF-UNAVAILABLE: perf record failed (${rc}): ${err}")
  return()
endif()
string(REGEX MATCH "pid ([0-9]+)" pid "${out}")
set(pid ${CMAKE_MATCH_1})
execute_process(COMMAND ${perf} inject -j -i ${WORK}/perf.data -o ${WORK}/perf.jit.data
                OUTPUT_VARIABLE inject ERROR_VARIABLE inject_err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "perf inject -j failed (${rc}): ${inject_err}")
endif()
execute_process(COMMAND ${perf} report -i ${WORK}/perf.jit.data --stdio --sort sym
                OUTPUT_VARIABLE report ERROR_VARIABLE report_err RESULT_VARIABLE rc)
message("${report}")
# perf inject wrote an ELF object per stub next to the dump (/tmp): they go, with the dump.
file(GLOB jitted /tmp/jitted-${pid}-*.so)
file(REMOVE ${jitted} /tmp/jit-${pid}.dump)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "perf report failed (${rc}): ${report_err}")
endif()
if(NOT report MATCHES "tramp\\.call [a-z0-9-]+:i64\\(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64\\)")
  message(FATAL_ERROR "perf report does not name the call stub")
endif()
