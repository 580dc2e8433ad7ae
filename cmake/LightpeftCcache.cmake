# ccache keyed on paths relative to the source tree, so a fresh clone in a new folder (CI) hits the
# cache of an earlier build (toolchain.md: without BASEDIR/NOHASHDIR every new folder misses).
find_program(LIGHTPEFT_CCACHE ccache)
if(LIGHTPEFT_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env CCACHE_BASEDIR=${CMAKE_SOURCE_DIR} CCACHE_NOHASHDIR=1
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      ${LIGHTPEFT_CCACHE})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${CMAKE_CXX_COMPILER_LAUNCHER})
  message(STATUS "lightpeft: compiling through ccache (${LIGHTPEFT_CCACHE})")
endif()
