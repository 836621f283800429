# The programs and libfusetune.so start on machines with the CUDA toolkit's NVRTC but no GPU
# driver and no cuBLAS, and from any folder: none of them names libcuda (the static CUDA runtime
# loads it when a GPU is asked for) or libcublas (`fusetune bench` loads it) among the libraries
# it needs, and none has an empty element in its run path, which the loader reads as the current
# folder.
#   cmake -DREADELF=readelf "-DFILES=fusetune|fusetune-worker" -P needed_libraries.cmake
string(REPLACE "|" ";" FILES "${FILES}")  # passed |-separated
foreach(file IN LISTS FILES)
  execute_process(COMMAND ${READELF} --dynamic ${file} OUTPUT_VARIABLE dynamic
                  RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "${READELF} could not read ${file}")
  endif()
  set(run_path "")
  string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*\\[[^]]+\\]" needed "${dynamic}")
  foreach(entry IN LISTS needed)
    if(entry MATCHES "\\[(libcuda\\.so|libcublas)[^]]*\\]")
      message(FATAL_ERROR "${file} needs ${CMAKE_MATCH_0}: it would not start without it")
    endif()
  endforeach()
  if(dynamic MATCHES "\\((RPATH|RUNPATH)\\)[^\n]*\\[([^]]*)\\]")
    set(run_path "${CMAKE_MATCH_2}")
    if(run_path MATCHES "^:|::|:$")
      message(FATAL_ERROR "${file} has the run path '${run_path}', whose empty element makes the "
                          "loader look for libraries in the current folder")
    endif()
  endif()
  list(LENGTH needed count)
  message(STATUS "${file} needs ${count} libraries, neither libcuda nor libcublas; run path "
                 "'${run_path}'")
endforeach()
