#!/usr/bin/env bash
# Configures and builds crcore with its tests: Ninja, RelWithDebInfo (assertions stay on), BUILD_TESTING=ON.
#
# Usage: scripts/build.sh [--sanitize] [BUILD_DIR] [-DNAME=VALUE ...]
#   --sanitize   AddressSanitizer + UBSan developer build (-DCRCORE_SANITIZE=ON); default dir build-asan
#   BUILD_DIR    default: build (relative paths are taken from the repository root)
#   -D...        passed on to cmake, e.g. -DCRCORE_WITH_MPI=OFF
# Does not install dependencies: scripts/install-deps.sh does.
set -euo pipefail

usage() { sed -n '2,8s/^# \{0,1\}//p' "$0"; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sanitize=OFF
build_dir=""
cmake_args=()
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=ON ;;
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

echo "== build $build_dir"
cmake --build "$build_dir" -j2
