# cmake -P script: install, configure + build the consumer against the install tree, run it.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(LAST_OUTPUT "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${PREFIX}" "${CONSUMER_BUILD}")

# The ```cpp block of docs/library.md, compiled and run as documented.
file(READ "${DOCS_LIBRARY}" _doc)
string(FIND "${_doc}" "```cpp\n" _begin)
if(_begin EQUAL -1)
  message(FATAL_ERROR "${DOCS_LIBRARY}: no ```cpp block")
endif()
math(EXPR _begin "${_begin} + 7")
string(SUBSTRING "${_doc}" ${_begin} -1 _rest)
string(FIND "${_rest}" "```" _end)
string(SUBSTRING "${_rest}" 0 ${_end} _example)
file(MAKE_DIRECTORY "${CONSUMER_BUILD}")
file(WRITE "${CONSUMER_BUILD}/library_example.cpp" "${_example}")
run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${PREFIX}")
run(${CMAKE_COMMAND} -S "${CONSUMER_SRC}" -B "${CONSUMER_BUILD}" -G "${GENERATOR}"
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${PREFIX} -DLIGHTPEFT_PYTHON=${LIGHTPEFT_PYTHON}
    -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc
    -DLIBRARY_EXAMPLE=${CONSUMER_BUILD}/library_example.cpp)
run(${CMAKE_COMMAND} --build "${CONSUMER_BUILD}")
run("${CONSUMER_BUILD}/consumer")
message(STATUS "consumer said: ${LAST_OUTPUT}")
if(NOT LAST_OUTPUT MATCHES "logits \\[2, 3\\]")
  message(FATAL_ERROR "unexpected consumer output: ${LAST_OUTPUT}")
endif()
run("${CONSUMER_BUILD}/library_example")
message(STATUS "docs/library.md example said: ${LAST_OUTPUT}")
if(NOT LAST_OUTPUT MATCHES "logits \\[4, 2\\]")
  message(FATAL_ERROR "unexpected library example output: ${LAST_OUTPUT}")
endif()
