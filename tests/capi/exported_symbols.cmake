# libfusetune.so exports the public API and nothing else: exactly the functions fusetune_c.h
# declares, and C++ symbols of the classes and functions the C++ headers declare in namespace
# fusetune. Nothing of the static CUDA runtime, fmt, json or the internal C++ code, which would
# clash with a process's own (PyTorch's).
#   cmake -DNM=nm -DLIBRARY=libfusetune.so -DHEADER=fusetune_c.h
#         "-DCXX_HEADERS=fusetune.h|status.h" -P exported_symbols.cmake
string(REPLACE "|" ";" CXX_HEADERS "${CXX_HEADERS}")  # passed |-separated
function(listing result)
  execute_process(COMMAND ${NM} -D --defined-only --no-sort ${ARGN} ${LIBRARY}
                  OUTPUT_VARIABLE text RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "${NM} could not read ${LIBRARY}")
  endif()
  string(REGEX MATCHALL "[^\n]+" lines "${text}")
  set(names "")
  foreach(line IN LISTS lines)
    # "ADDRESS TYPE NAME"; a demangled NAME may hold spaces and semicolons.
    string(REGEX REPLACE "^[0-9a-f]* *[A-Za-z] " "" name "${line}")
    string(REPLACE ";" "\\;" name "${name}")
    list(APPEND names "${name}")
  endforeach()
  set(${result} "${names}" PARENT_SCOPE)
endfunction()

listing(raw)
listing(demangled --demangle)

# The C declarations: lines that start with a type and name a fusetune_ function.
file(STRINGS ${HEADER} declarations REGEX "^[a-z].*[ *]fusetune_[a-z_]+\\(")
set(declared "")
foreach(line IN LISTS declarations)
  string(REGEX MATCH "fusetune_[a-z_]+\\(" name "${line}")
  string(REPLACE "(" "" name "${name}")
  list(APPEND declared ${name})
endforeach()
list(SORT declared)

# The C++ API: the classes and structs, and the free functions, declared at namespace scope.
set(classes "")
set(functions "")
foreach(header IN LISTS CXX_HEADERS)
  file(STRINGS ${header} lines REGEX "^[a-z]")
  foreach(line IN LISTS lines)
    if(line MATCHES "^(class|struct) ([A-Za-z_]+)")
      list(APPEND classes ${CMAKE_MATCH_2})
    elseif(NOT line MATCHES "^(enum|namespace|template|using)" AND line MATCHES
                                                                   " \\**([a-z_]+)\\(")
      list(APPEND functions ${CMAKE_MATCH_1})
    endif()
  endforeach()
endforeach()
list(JOIN classes "|" class_names)
list(JOIN functions "|" function_names)
set(public_cxx "^((typeinfo|typeinfo name|vtable) for )?fusetune::(${class_names})(::|$)")
if(functions)
  string(APPEND public_cxx "|^fusetune::(${function_names})\\(")
endif()

set(exported_c "")
set(private "")
set(has_open FALSE)
list(LENGTH raw count)
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  list(GET raw ${i} name)
  list(GET demangled ${i} readable)
  if(name MATCHES "^_Z")
    if(NOT readable MATCHES "${public_cxx}")
      list(APPEND private "${readable}")
    elseif(readable MATCHES "^fusetune::Library::open\\(")
      set(has_open TRUE)
    endif()
  else()
    list(APPEND exported_c ${name})
  endif()
endforeach()
list(SORT exported_c)

if(private)
  list(JOIN private "\n  " shown)
  message(FATAL_ERROR "${LIBRARY} exports C++ symbols that are not the public API:\n  ${shown}")
endif()
if(NOT has_open)
  message(FATAL_ERROR "${LIBRARY} does not export fusetune::Library::open: the C++ API is "
                      "unusable from it")
endif()
if(NOT exported_c STREQUAL declared)
  set(extra ${exported_c})
  list(REMOVE_ITEM extra ${declared})
  set(missing ${declared})
  list(REMOVE_ITEM missing ${exported_c})
  message(FATAL_ERROR "${LIBRARY} exports what fusetune_c.h does not declare: [${extra}]\n"
                      "and lacks what it declares: [${missing}]")
endif()
list(LENGTH exported_c c_count)
math(EXPR cxx_count "${count} - ${c_count}")
message(STATUS "${LIBRARY} exports the ${c_count} functions of fusetune_c.h and ${cxx_count} "
               "symbols of the C++ API (classes ${class_names}; functions ${function_names})")
