# cmake -DGDB=gdb -DTARGET=tramp_gdb_target -DCOMMANDS=commands.gdb [-DEXPECT_NAMES=OFF] -P check.cmake
# Runs TARGET under `gdb -batch` and checks every backtrace it prints: from each callee or
# handler, the next frame is the stub or thunk, named by what it is and its signature, and
# the backtrace goes on to main. With EXPECT_NAMES=OFF (the run with TRAMP_GDB_JIT=0, a
# negative control) it checks that gdb did not name them.
execute_process(COMMAND ${GDB} -batch -nx -x ${COMMANDS} ${TARGET}
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gdb failed (${rc}): ${err}")
endif()
if(NOT out MATCHES "sum [0-9]+")
  message(FATAL_ERROR "the target did not run to its end under gdb")
endif()
set(frame "[^\n]*\n")
set(rest "(#[0-9]+ ${frame})*#[0-9]+ [^\n]*main \\(")
set(expected
  "#0  callee_call ${frame}#1  0x[0-9a-f]+ in tramp\\.call sysv:i32\\(i32, i32\\) \\(\\)\n${rest}"
  "#0  callee_bound ${frame}#1  0x[0-9a-f]+ in tramp\\.bound sysv:i32\\(i32, i32\\) \\(\\)\n${rest}"
  "#0  callee_direct ${frame}#1  0x[0-9a-f]+ in tramp\\.direct sysv:i32\\(i32, i32\\) errno \\(\\)\n${rest}"
  "#0  callee_page ${frame}#1  0x[0-9a-f]+ in tramp\\.call sysv:i64\\({u8\\[8192\\]}\\) \\(\\)\n${rest}"
  "#0  in_handler ${frame}#1  0x[0-9a-f]+ in tramp\\.thunk sysv:i32\\(i32, i32\\) \\(\\)\n#2  [^\n]* in apply ${frame}${rest}"
  "#0  in_handler ${frame}#1  0x[0-9a-f]+ in tramp\\.thunk win64:i32\\(i32, i32\\) \\(\\)\n#2  [^\n]* in ms_apply ${frame}${rest}")
set(failed "")
foreach(e ${expected})
  if(NOT out MATCHES "${e}")
    list(APPEND failed "${e}")
  endif()
endforeach()
if(EXPECT_NAMES STREQUAL "OFF")
  if(out MATCHES "in tramp\\.")
    message(FATAL_ERROR "gdb named a stub although TRAMP_GDB_JIT=0")
  endif()
  list(LENGTH failed n)
  list(LENGTH expected all)
  if(NOT n EQUAL all)
    message(FATAL_ERROR "a backtrace matched although nothing was registered with gdb")
  endif()
  message(STATUS "without the GDB JIT interface: no stub named, as expected")
  return()
endif()
if(failed)
  string(REPLACE ";" "\n" failed "${failed}")
  message(FATAL_ERROR "backtraces missing:\n${failed}")
endif()
