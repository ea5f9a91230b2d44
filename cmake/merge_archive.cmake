# cmake -DAR=ar -DRANLIB=ranlib -DARCHIVE=libtramp.a -DADD=libother.a -P merge_archive.cmake
# Appends every member of ADD to ARCHIVE (an ar MRI script), so the static libtramp.a carries
# the renamed asmjit members itself (CMakeLists.txt, docs/building.md).
set(script "${ARCHIVE}.mri")
file(WRITE ${script} "create ${ARCHIVE}.new\naddlib ${ARCHIVE}\naddlib ${ADD}\nsave\nend\n")
execute_process(COMMAND ${AR} -M INPUT_FILE ${script} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${AR} -M failed (${rc}) merging ${ADD} into ${ARCHIVE}")
endif()
execute_process(COMMAND ${RANLIB} ${ARCHIVE}.new RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${RANLIB} failed (${rc}) on ${ARCHIVE}.new")
endif()
file(RENAME ${ARCHIVE}.new ${ARCHIVE})
file(REMOVE ${script})
