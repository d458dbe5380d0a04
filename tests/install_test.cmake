# Installs the library component of the built project (libcell, apiary::wire,
# headers, CMake package; none of the programs) into a scratch prefix, builds
# the library-usage example against it through find_package(apiary), and
# runs it.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
                        --component library
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install failed: ${rc}")
endif()
foreach(program apiary apiary-sim apiary-extender)
  if(EXISTS ${WORK_DIR}/prefix/bin/${program})
    message(FATAL_ERROR "the library component installed the program ${program}")
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/library-usage
                        -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configure of the example failed:\n${out}\n${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "build of the example failed:\n${out}\n${err}")
endif()
execute_process(COMMAND ${WORK_DIR}/build/schedule_pods ${SOURCE_DIR}/examples/configs/hived-basic.yaml
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the example failed (${rc}):\n${out}\n${err}")
endif()
if(NOT out MATCHES "demo/pod-1 -> dgx-" OR NOT out MATCHES "used: dgx-[0-9]+ GPU [0-7] by demo/pod-1" OR NOT out MATCHES "inspect: \\{\"items\":\\[\\{\"metadata\":\\{\"name\":\"demo/pod-0\"")
  message(FATAL_ERROR "unexpected output:\n${out}")
endif()
