# libfusetune.so exports exactly the functions fusetune_c.h declares: nothing of the static CUDA
# runtime, fmt or the C++ code inside it, which would clash with a process's own (PyTorch's).
#   cmake -DNM=nm -DLIBRARY=libfusetune.so -DHEADER=fusetune_c.h -P exported_symbols.cmake
execute_process(COMMAND ${NM} -D --defined-only ${LIBRARY}
                OUTPUT_VARIABLE listing RESULT_VARIABLE failed)
if(failed)
  message(FATAL_ERROR "${NM} could not read ${LIBRARY}")
endif()

string(REGEX MATCHALL "[^\n]+" lines "${listing}")
set(exported "")
foreach(line IN LISTS lines)
  string(REGEX REPLACE "^.* " "" name "${line}")
  list(APPEND exported ${name})
endforeach()
list(SORT exported)

# The declarations: lines that start with a type and name a fusetune_ function.
file(STRINGS ${HEADER} declarations REGEX "^[a-z].*[ *]fusetune_[a-z_]+\\(")
set(declared "")
foreach(line IN LISTS declarations)
  string(REGEX MATCH "fusetune_[a-z_]+\\(" name "${line}")
  string(REPLACE "(" "" name "${name}")
  list(APPEND declared ${name})
endforeach()
list(SORT declared)

if(NOT exported STREQUAL declared)
  set(extra ${exported})
  list(REMOVE_ITEM extra ${declared})
  set(missing ${declared})
  list(REMOVE_ITEM missing ${exported})
  message(FATAL_ERROR "${LIBRARY} exports what fusetune_c.h does not declare: [${extra}]\n"
                      "and lacks what it declares: [${missing}]")
endif()
list(LENGTH exported count)
message(STATUS "${LIBRARY} exports the ${count} functions of fusetune_c.h and nothing else")
