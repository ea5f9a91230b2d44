# A negative control:
#   cmake -DWANT=REGEX [-DWITHOUT_FACE=ON] -P expect_failure.cmake -- COMMAND [ARG...]
# runs COMMAND (with LD_LIBRARY_PATH removed when WITHOUT_FACE is set, so the system's libffi is
# the one loaded) and passes only if it exits nonzero and its output matches REGEX. A control
# that fails for another reason (a crash, a missing file, a typo) proves nothing, so that fails.
set(command)
set(seen_separator OFF)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE 1 ${last})
  if(seen_separator)
    list(APPEND command "${CMAKE_ARGV${i}}")
  elseif(CMAKE_ARGV${i} STREQUAL "--")
    set(seen_separator ON)
  endif()
endforeach()
if(NOT command OR NOT DEFINED WANT)
  message(FATAL_ERROR "usage: cmake -DWANT=REGEX [-DWITHOUT_FACE=ON] -P expect_failure.cmake -- COMMAND...")
endif()
if(WITHOUT_FACE)
  unset(ENV{LD_LIBRARY_PATH})
endif()

execute_process(COMMAND ${command} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(status EQUAL 0)
  message(FATAL_ERROR "control: the command succeeded; it must fail with output matching: ${WANT}")
endif()
if(NOT "${out}${err}" MATCHES "${WANT}")
  message(FATAL_ERROR "control: the command failed (${status}), but not with output matching: ${WANT}")
endif()
message("control: failed as expected (${status}), with output matching: ${WANT}")
