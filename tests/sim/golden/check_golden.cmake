# Runs apiary-sim with the placement model off and checks that the per-job
# CSVs are byte for byte those of the simulator without the model (SHA-256
# recorded in GOLDEN). First made with the pre-model binary at 021b3b3;
# regenerated when issue #11's `nodes,span` columns were merged: the files'
# first 15 columns still hash to the 021b3b3 values (the defect fixes of
# issue #11 change nothing on this Philly run), only the two columns are new.
#   cmake -DSIM=<apiary-sim> -DSRC=<source dir> -DOUT=<dir> -DGOLDEN=<file>
#         -DARGS="<extra run flags; list>" -P check_golden.cmake
execute_process(
  COMMAND ${SIM} run --trace ${SRC}/traces/data/philly/philly_jobs_pollux.csv
          --vc-quotas ${SRC}/traces/data/philly/philly_vc_nodes_helios.csv
          --sku P40 --gpus-per-node 8 --no-plots -q --placement-model off
          --out ${OUT} ${ARGS}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "apiary-sim failed: ${rc}")
endif()
file(STRINGS ${GOLDEN} lines)
foreach(line IN LISTS lines)
  string(REGEX MATCH "^([0-9a-f]+)  (.+)$" _ "${line}")
  set(want ${CMAKE_MATCH_1})
  set(name ${CMAKE_MATCH_2})
  file(SHA256 ${OUT}/${name} got)
  if(NOT got STREQUAL want)
    message(FATAL_ERROR "${name}: SHA-256 ${got}, expected ${want} (the model-off output)")
  endif()
  message(STATUS "${name}: identical to the model-off output")
endforeach()
