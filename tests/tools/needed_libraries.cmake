# The programs start on machines with the CUDA toolkit's NVRTC but no GPU driver and no cuBLAS:
# none of them names libcuda (the static CUDA runtime loads it when a GPU is asked for) or
# libcublas (`fusetune bench` loads it) among the libraries it needs.
#   cmake -DREADELF=readelf "-DPROGRAMS=fusetune|fusetune-worker" -P needed_libraries.cmake
string(REPLACE "|" ";" PROGRAMS "${PROGRAMS}")  # passed |-separated
foreach(program IN LISTS PROGRAMS)
  execute_process(COMMAND ${READELF} --dynamic ${program} OUTPUT_VARIABLE dynamic
                  RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "${READELF} could not read ${program}")
  endif()
  string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*\\[[^]]+\\]" needed "${dynamic}")
  foreach(entry IN LISTS needed)
    if(entry MATCHES "\\[(libcuda\\.so|libcublas)[^]]*\\]")
      message(FATAL_ERROR "${program} needs ${CMAKE_MATCH_0}: it would not start without it")
    endif()
  endforeach()
  list(LENGTH needed count)
  message(STATUS "${program} needs ${count} libraries, neither libcuda nor libcublas")
endforeach()
