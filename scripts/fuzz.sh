#!/usr/bin/env bash
# Fuzzes the image reader with libFuzzer for SECONDS (default 60): builds build-fuzz with clang,
# writes the seed corpus (valid images made with the real writer), runs tests/fuzz/image_reader_fuzz.
#
# Usage: scripts/fuzz.sh [SECONDS]
#   CI runs it for a fixed budget (minutes); run it for hours by hand (docs/reliability.md, "Fuzzing").
# Needs clang and libclang-rt-14-dev (scripts/install-deps.sh installs them); installs nothing itself.
# The corpus grows in build-fuzz/fuzz/corpus across runs; crash files go to build-fuzz/fuzz/artifacts.
# Exit status: 0 when the run found nothing; 1 on a finding (its file is printed) or a failed step.
set -euo pipefail

usage() { sed -n '2,9s/^# \{0,1\}//p' "$0"; }

seconds=60
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *[!0-9]* | 0)
    echo "fuzz.sh: SECONDS must be a positive whole number, not '$1'" >&2
    usage >&2
    exit 2
    ;;
  *) seconds="$1" ;;
esac
if (($# > 1)); then
  echo "fuzz.sh: one argument at most" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build_dir=build-fuzz
work="$build_dir/fuzz"

# -- what it needs -------------------------------------------------------------------------------
if ! command -v clang >/dev/null || ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang is not installed: run scripts/install-deps.sh (or apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi
resource_dir="$(clang++ --print-resource-dir)"
for runtime in fuzzer asan ubsan_standalone; do
  if [[ ! -f "$resource_dir/lib/linux/libclang_rt.$runtime-x86_64.a" ]]; then
    echo "fuzz.sh: clang's $runtime runtime is missing ($resource_dir/lib/linux/libclang_rt.$runtime-x86_64.a):" \
      "run scripts/install-deps.sh (or apt-get install libclang-rt-14-dev)" >&2
    exit 1
  fi
done

cache="$build_dir/CMakeCache.txt"
if [[ -f "$cache" ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$cache"; then
  echo "fuzz.sh: $build_dir was configured with another generator than Ninja; remove it (rm -rf $build_dir)" >&2
  exit 1
fi
if [[ -f "$cache" ]] && ! grep -q '^CMAKE_CXX_COMPILER:.*clang++' "$cache"; then
  echo "fuzz.sh: $build_dir was configured with another compiler than clang++; remove it (rm -rf $build_dir)" >&2
  exit 1
fi

# -- build ----------------------------------------------------------------------------------------
echo "== configure $build_dir (clang, CRCORE_FUZZ=ON)"
mkdir -p "$build_dir"
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBUILD_TESTING=ON \
  -DCRCORE_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS=-Wno-unknown-warning-option \
  -DCRCORE_FUZZ=ON >"$build_dir/fuzz-configure.log" 2>&1 || {
  cat "$build_dir/fuzz-configure.log" >&2
  echo "fuzz.sh: configure failed" >&2
  exit 1
}
targets="$(cmake --build "$build_dir" --target help)"
if ! grep -q '^image_reader_fuzz:' <<<"$targets"; then
  echo "fuzz.sh: $build_dir has no image_reader_fuzz target: does tests/CMakeLists.txt add tests/fuzz?" >&2
  exit 1
fi
echo "== build image_reader_fuzz and make_seeds"
cmake --build "$build_dir" --target image_reader_fuzz image_reader_fuzz_seeds -j "$(nproc)"
fuzzer="$build_dir/tests/fuzz/image_reader_fuzz"

# -- seeds and corpus -------------------------------------------------------------------------------
rm -rf "$work/seeds"
mkdir -p "$work/corpus" "$work/artifacts"
echo "== seeds ($work/seeds)"
"$build_dir/tests/fuzz/make_seeds" "$work/seeds"

# -- run ------------------------------------------------------------------------------------------
# One in-process job (libFuzzer's default; -jobs=N would fork workers that log to files instead).
stamp="$work/.run-started"
touch "$stamp"
log="$work/fuzz.log"
args=(
  -max_total_time="$seconds"
  -rss_limit_mb=512
  -malloc_limit_mb=256
  -timeout=10
  -print_final_stats=1
  -dict=tests/fuzz/image.dict
  -artifact_prefix="$work/artifacts/"
  "$work/corpus" "$work/seeds"
)
echo "== $fuzzer ${args[*]}"
# UBSan reports abort (-fno-sanitize-recover) and count as crashes; give them a stack trace too.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
status=0
"$fuzzer" "${args[@]}" >"$log" 2>&1 || status=$?

# -- report ---------------------------------------------------------------------------------------
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$log" | tail -n 2 || true
grep -E '^stat::' "$log" || true
executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
mapfile -t findings < <(find "$work/artifacts" -maxdepth 1 -type f -newer "$stamp" \
  \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
echo "fuzz.sh: ${executions:-?} executions (budget ${seconds}s); corpus $(find "$work/corpus" -type f | wc -l) inputs;" \
  "log $log"
if ((status != 0 || ${#findings[@]} > 0)); then
  echo "== the fuzzer's report (the end of $log)"
  grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)|NEW_FUNC' "$log" | tail -n 60
  echo "FUZZING FOUND A PROBLEM (libFuzzer exit status $status):"
  for f in "${findings[@]}"; do
    echo "  $f"
    echo "    reproduce: $fuzzer $f"
  done
  echo "Turn each into a test in tests/unit/image/fuzz_regressions_test.cpp (docs/reliability.md)."
  exit 1
fi
echo "fuzz.sh: no finding"
