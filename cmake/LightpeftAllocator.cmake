# The malloc of the executables we ship (the `lightpeft` CLI and the benchmarks that stand for it):
# jemalloc from Debian's libjemalloc-dev by default, or glibc's (include/lightpeft/core/allocator.h
# says why it matters). liblightpeft itself links no allocator: a program that links it chooses.
set(LIGHTPEFT_ALLOCATOR "jemalloc" CACHE STRING "malloc of the lightpeft executables: jemalloc or glibc")
set_property(CACHE LIGHTPEFT_ALLOCATOR PROPERTY STRINGS jemalloc glibc)
if(LIGHTPEFT_ALLOCATOR STREQUAL "jemalloc")
  pkg_check_modules(JEMALLOC jemalloc)
  if(NOT JEMALLOC_FOUND)
    message(FATAL_ERROR "LIGHTPEFT_ALLOCATOR=jemalloc but pkg-config finds no jemalloc: install Debian's "
                        "libjemalloc-dev (tools/setup.sh does), or configure with -DLIGHTPEFT_ALLOCATOR=glibc")
  endif()
elseif(NOT LIGHTPEFT_ALLOCATOR STREQUAL "glibc")
  message(FATAL_ERROR "LIGHTPEFT_ALLOCATOR must be jemalloc or glibc, not '${LIGHTPEFT_ALLOCATOR}'")
endif()

# Links the chosen malloc into an executable. --no-as-needed: nothing calls jemalloc by name (it
# replaces malloc and free), so an as-needed link would drop it.
function(lightpeft_link_allocator target)
  if(LIGHTPEFT_ALLOCATOR STREQUAL "jemalloc")
    target_link_libraries(${target} PRIVATE "-Wl,--push-state,--no-as-needed" ${JEMALLOC_LINK_LIBRARIES}
                          "-Wl,--pop-state")
    target_sources(${target} PRIVATE ${PROJECT_SOURCE_DIR}/tools/malloc_conf.cpp)  # its settings
  endif()
endfunction()
