# Included from src/CMakeLists.txt: compile definitions for src/distributed/backend_*.cpp.
find_path(LIGHTPEFT_GLOO_INCLUDE_DIR gloo/config.h)
if(LIGHTPEFT_GLOO_INCLUDE_DIR)
  message(STATUS "lightpeft: Gloo backend (gloo headers in ${LIGHTPEFT_GLOO_INCLUDE_DIR})")
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/distributed/backend_gloo.cpp PROPERTIES
    COMPILE_DEFINITIONS "LIGHTPEFT_WITH_GLOO=1;USE_C10D_GLOO=1")
  # (-I/usr/include would break libstdc++'s #include_next)
  if(NOT LIGHTPEFT_GLOO_INCLUDE_DIR IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    set_property(SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/distributed/backend_gloo.cpp APPEND PROPERTY
      INCLUDE_DIRECTORIES "${LIGHTPEFT_GLOO_INCLUDE_DIR}")
  endif()
else()
  message(WARNING "lightpeft: gloo headers not found (apt-get install libgloo-dev): "
                  "multi-process training on the CPU will report an error")
endif()

set(_nccl_hints)
if(LIGHTPEFT_PYTHON)
  get_filename_component(_venv_bin "${LIGHTPEFT_PYTHON}" DIRECTORY)
  file(GLOB _nccl_hints "${_venv_bin}/../lib/python3*/site-packages/nvidia/nccl/include")
endif()
find_path(LIGHTPEFT_NCCL_INCLUDE_DIR nccl.h HINTS ${_nccl_hints} PATHS /usr/local/cuda/include)
# C10_CUDA_LIBRARY: set by Torch's CMake for a CUDA build of torch.
if(LIGHTPEFT_WITH_CUDA AND LIGHTPEFT_NCCL_INCLUDE_DIR AND C10_CUDA_LIBRARY)
  message(STATUS "lightpeft: NCCL backend (nccl.h in ${LIGHTPEFT_NCCL_INCLUDE_DIR})")
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/distributed/backend_nccl.cpp PROPERTIES
    COMPILE_DEFINITIONS "LIGHTPEFT_WITH_NCCL=1;USE_C10D_NCCL=1"
    INCLUDE_DIRECTORIES "${LIGHTPEFT_NCCL_INCLUDE_DIR};${CUDAToolkit_INCLUDE_DIRS}")
else()
  message(STATUS "lightpeft: no NCCL backend (needs CUDA, a CUDA torch and nccl.h)")
endif()
