# Runs the tool and checks both its exit status and its message, which one ctest property
# cannot do (PASS_REGULAR_EXPRESSION ignores the status).
#   cmake -DTOOL=path [-DEMULATOR=a|b] -DARGS=a|b|c -DSTATUS=2 -DMESSAGE=text -P check_tool_exit.cmake
# ARGS and EMULATOR are lists joined with '|' (a ';' would split them on the way here);
# MESSAGE is plain text that stderr must contain.
string(REPLACE "|" ";" args "${ARGS}")
string(REPLACE "|" ";" emulator "${EMULATOR}")
execute_process(COMMAND ${emulator} ${TOOL} ${args} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err
                TIMEOUT 30)
if(NOT status STREQUAL "${STATUS}")
  message(FATAL_ERROR "exit status ${status}, expected ${STATUS}\nstdout: ${out}\nstderr: ${err}")
endif()
string(FIND "${err}" "${MESSAGE}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "stderr does not say: ${MESSAGE}\nstderr: ${err}")
endif()
