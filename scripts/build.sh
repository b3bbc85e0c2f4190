#!/usr/bin/env bash
# Configures and builds crcore with its tests: Ninja, RelWithDebInfo (assertions stay on), BUILD_TESTING=ON.
#
# Usage: scripts/build.sh [--sanitize] [--target TARGET]... [BUILD_DIR] [-DNAME=VALUE ...]
#   --sanitize       AddressSanitizer + UBSan developer build (-DCRCORE_SANITIZE=ON); default dir build-asan
#   --target TARGET  build only TARGET (repeatable; default everything), e.g. crcore_unit_tests
#   BUILD_DIR        default: build (relative paths are taken from the repository root)
#   -D...            passed on to cmake, e.g. -DCRCORE_WITH_MPI=OFF
# Does not install dependencies: scripts/install-deps.sh does.
set -euo pipefail

usage() { sed -n '2,9s/^# \{0,1\}//p' "$0"; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sanitize=OFF
build_dir=""
cmake_args=()
targets=()
while (($# > 0)); do
  arg="$1"
  shift
  case "$arg" in
    --sanitize) sanitize=ON ;;
    --target)
      if (($# == 0)) || [[ -z "$1" || "$1" == -* ]]; then
        echo "build.sh: --target needs a target name" >&2
        exit 2
      fi
      targets+=("$1")
      shift
      ;;
    --target=*) targets+=("${arg#--target=}") ;;
    -h | --help) usage; exit 0 ;;
    -D*) cmake_args+=("$arg") ;;
    -*) echo "build.sh: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
    *)
      if [[ -n "$build_dir" ]]; then
        echo "build.sh: one build directory only ('$build_dir' and '$arg' given)" >&2
        exit 2
      fi
      build_dir="$arg"
      ;;
  esac
done
if [[ -z "$build_dir" ]]; then
  build_dir=build
  [[ "$sanitize" == ON ]] && build_dir=build-asan
fi
cd "$root"

cache="$build_dir/CMakeCache.txt"
if [[ -f "$cache" ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$cache"; then
  echo "build.sh: $build_dir was configured with another generator than Ninja; remove it (rm -rf $build_dir)" >&2
  exit 1
fi

echo "== configure $build_dir (RelWithDebInfo, CRCORE_SANITIZE=$sanitize)"
cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBUILD_TESTING=ON \
  -DCRCORE_SANITIZE="$sanitize" \
  "${cmake_args[@]}"

if ((${#targets[@]} == 0)); then
  echo "== build $build_dir"
  cmake --build "$build_dir" -j2
else
  echo "== build $build_dir: ${targets[*]}"
  cmake --build "$build_dir" -j2 --target "${targets[@]}"
fi
