# Options of the crcore build. Each optional part is AUTO (on when its dependency is found),
# ON (required: configure fails without it) or OFF. The summary at the end of configure says
# what is on, what is off, and why.

set(_crcore_tristate AUTO ON OFF)
foreach(_part MPI PMIX HWLOC SLURM KMOD ZSTD)
  set(CRCORE_WITH_${_part} AUTO CACHE STRING "Build the ${_part} part: AUTO, ON or OFF")
  set_property(CACHE CRCORE_WITH_${_part} PROPERTY STRINGS ${_crcore_tristate})
endforeach()
option(CRCORE_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer (developer builds)" OFF)
option(CRCORE_BUILD_BENCH "Build the benchmarks in bench/" ON)

set(CRCORE_SUMMARY_LINES "")
function(crcore_summary part state why)
  set(CRCORE_SUMMARY_LINES "${CRCORE_SUMMARY_LINES}\n  ${part}: ${state} (${why})" PARENT_SCOPE)
endfunction()

# crcore_resolve(PART FOUND WHY_MISSING) sets CRCORE_HAVE_<PART> from the option and the detection.
macro(crcore_resolve part found why_missing)
  if(CRCORE_WITH_${part} STREQUAL "OFF")
    set(CRCORE_HAVE_${part} OFF)
    crcore_summary(${part} off "CRCORE_WITH_${part}=OFF")
  elseif(${found})
    set(CRCORE_HAVE_${part} ON)
    crcore_summary(${part} on "found")
  elseif(CRCORE_WITH_${part} STREQUAL "ON")
    message(FATAL_ERROR "CRCORE_WITH_${part}=ON but ${why_missing}")
  else()
    set(CRCORE_HAVE_${part} OFF)
    crcore_summary(${part} off "${why_missing}")
  endif()
endmacro()

find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)

# xxHash is required: every image record is checksummed with XXH3.
find_path(XXHASH_INCLUDE_DIR xxhash.h)
if(NOT XXHASH_INCLUDE_DIR)
  message(FATAL_ERROR "xxhash.h not found: install libxxhash-dev (scripts/install-deps.sh does)")
endif()
find_package(CLI11 CONFIG REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(fmt REQUIRED)

pkg_check_modules(ZSTD IMPORTED_TARGET libzstd)
crcore_resolve(ZSTD ZSTD_FOUND "libzstd not found (libzstd-dev)")

find_package(MPI COMPONENTS C QUIET)
set(_mpi_ok FALSE)
if(MPI_C_FOUND)
  execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE _mpi_version ERROR_QUIET)
  if(_mpi_version MATCHES "Open MPI|OpenRTE")
    set(_mpi_ok TRUE)
  endif()
endif()
crcore_resolve(MPI _mpi_ok "Open MPI (libopenmpi-dev, openmpi-bin) not found")

find_path(PMIX_INCLUDE_DIR pmix.h PATHS /usr/lib/x86_64-linux-gnu/pmix2/include)
find_library(PMIX_LIBRARY pmix PATHS /usr/lib/x86_64-linux-gnu/pmix2/lib)
set(_pmix_ok FALSE)
if(PMIX_INCLUDE_DIR AND PMIX_LIBRARY)
  set(_pmix_ok TRUE)
endif()
crcore_resolve(PMIX _pmix_ok "PMIx headers/library not found (libpmix-dev)")

pkg_check_modules(HWLOC IMPORTED_TARGET hwloc)
crcore_resolve(HWLOC HWLOC_FOUND "hwloc not found (libhwloc-dev)")

find_path(SLURM_INCLUDE_DIR slurm/spank.h)
set(_slurm_ok FALSE)
if(SLURM_INCLUDE_DIR)
  set(_slurm_ok TRUE)
endif()
crcore_resolve(SLURM _slurm_ok "slurm/spank.h not found (libslurm-dev)")

set(_kmod_ok FALSE)
file(GLOB _kheaders LIST_DIRECTORIES true /usr/src/linux-headers-*-amd64)
if(_kheaders)
  set(_kmod_ok TRUE)
endif()
crcore_resolve(KMOD _kmod_ok "no kernel headers in /usr/src/linux-headers-*-amd64")
# Parts whose code is not in the tree yet: detected, so that a configure says what it found,
# but nothing is built from them.
foreach(_pending PMIX SLURM HWLOC)
  if(CRCORE_HAVE_${_pending})
    string(REPLACE "${_pending}: on (found)" "${_pending}: found (nothing uses it yet: see Status in README.md)"
           CRCORE_SUMMARY_LINES "${CRCORE_SUMMARY_LINES}")
  endif()
endforeach()
# The kernel-module backend is not part of the tree yet (issue: kernel-module backend).
if(CRCORE_HAVE_KMOD)
  set(CRCORE_HAVE_KMOD OFF)
  crcore_summary(KMOD off "the kernel-module backend is not implemented yet")
endif()

if(CRCORE_SANITIZE)
  crcore_summary(SANITIZE on "ASan+UBSan; the restart stage and cr_run's preload library are built without them")
endif()

function(crcore_print_summary)
  message(STATUS "crcore ${PROJECT_VERSION} configuration:${CRCORE_SUMMARY_LINES}")
endfunction()
