# hiredis (Debian's libhiredis-dev 0.14) ships no CMake target: this makes `offload_hiredis`, which the Redis
# store links. Included by the build and by the installed package's server component.
if(NOT TARGET offload_hiredis)
  find_path(OFFLOAD_HIREDIS_INCLUDE hiredis/async.h REQUIRED)
  find_library(OFFLOAD_HIREDIS_LIBRARY hiredis REQUIRED)
  add_library(offload_hiredis INTERFACE IMPORTED)
  target_include_directories(offload_hiredis SYSTEM INTERFACE ${OFFLOAD_HIREDIS_INCLUDE})
  target_link_libraries(offload_hiredis INTERFACE ${OFFLOAD_HIREDIS_LIBRARY})
endif()
