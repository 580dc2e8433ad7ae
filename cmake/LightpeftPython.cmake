# LibTorch is the official PyPI torch wheel installed in the project venv (tools/setup.sh makes it).
# We ask that Python where torch keeps its CMake package instead of vendoring a LibTorch download.
function(lightpeft_default_python out)
  if(DEFINED ENV{LIGHTPEFT_VENV})
    set(venv "$ENV{LIGHTPEFT_VENV}")
  elseif(DEFINED ENV{XDG_CACHE_HOME})
    set(venv "$ENV{XDG_CACHE_HOME}/lightpeft/venv")
  else()
    set(venv "$ENV{HOME}/.cache/lightpeft/venv")
  endif()
  set(${out} "${venv}/bin/python" PARENT_SCOPE)
endfunction()

if(NOT LIGHTPEFT_PYTHON)
  lightpeft_default_python(_lp_python)
  if(EXISTS "${_lp_python}")
    set(LIGHTPEFT_PYTHON "${_lp_python}" CACHE FILEPATH "Python of the project venv" FORCE)
  endif()
endif()

macro(lightpeft_find_torch)
  if(NOT Torch_DIR)
    if(NOT LIGHTPEFT_PYTHON OR NOT EXISTS "${LIGHTPEFT_PYTHON}")
      message(FATAL_ERROR
        "lightpeft: no project venv found (looked for LIGHTPEFT_PYTHON='${LIGHTPEFT_PYTHON}').\n"
        "Run tools/setup.sh first, or pass -DLIGHTPEFT_PYTHON=/path/to/venv/bin/python "
        "(a Python with torch==2.11.0), or -DTorch_DIR=/path/to/share/cmake/Torch.")
    endif()
    execute_process(
      COMMAND "${LIGHTPEFT_PYTHON}" -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
      OUTPUT_VARIABLE _lp_torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
      RESULT_VARIABLE _lp_rc ERROR_VARIABLE _lp_err)
    if(NOT _lp_rc EQUAL 0)
      message(FATAL_ERROR "lightpeft: '${LIGHTPEFT_PYTHON}' cannot import torch: ${_lp_err}")
    endif()
    list(APPEND CMAKE_PREFIX_PATH "${_lp_torch_prefix}")
  endif()
  find_package(Torch REQUIRED)
  message(STATUS "lightpeft: LibTorch ${Torch_VERSION} from ${Torch_DIR}")
endmacro()
