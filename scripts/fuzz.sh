#!/usr/bin/env bash
# Fuzzes crcore's readers with libFuzzer for SECONDS in all (default 60): builds build-fuzz with clang,
# writes the seed corpora (made with the real writers, plus real files from tests/fuzz/seeds/), runs
# each target of tests/fuzz for its share of SECONDS: side by side on CRCORE_FUZZ_JOBS lanes (default
# the number of cores; one lane runs them one after the other), each target always getting its full share.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]      or: scripts/fuzz.sh --build-only [TARGET...]
#   --build-only: configure and build build-fuzz, run nothing (CI builds it while the tests run).
#   TARGET: image_reader (the image reader), snapshot_metadata (an MPI snapshot's metadata.json),
#   scope_index (the index of a --tree/--pgid/--sid checkpoint); default all three, image_reader getting
#   3/5 of SECONDS and the others 1/5 each (one TARGET gets all of SECONDS).
#   CI runs it for a fixed budget (minutes); run it for hours by hand (docs/reliability.md, "Fuzzing").
# Needs clang and libclang-rt-14-dev (scripts/install-deps.sh installs them); installs nothing itself.
# Each corpus grows in build-fuzz/fuzz/TARGET/corpus across runs; crash files go to build-fuzz/fuzz/TARGET/artifacts.
# Exit status: 0 when no run found anything; 1 on a finding (its file is printed) or a failed step.
set -euo pipefail

usage() { sed -n '2,16s/^# \{0,1\}//p' "$0"; }

seconds=60
build_only=0
if [[ "${1:-}" == --build-only ]]; then
  build_only=1
  shift
  set -- 1 "$@" # SECONDS is not used
fi
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
shift || true
all_targets=(image_reader snapshot_metadata scope_index)
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=("${all_targets[@]}")
fi
for t in "${targets[@]}"; do
  if [[ " ${all_targets[*]} " != *" $t "* ]]; then
    echo "fuzz.sh: unknown target '$t' (one of: ${all_targets[*]})" >&2
    exit 2
  fi
done
# Each target's share of SECONDS: image_reader weighs 3, the text readers 1 each.
weight() { [[ "$1" == image_reader ]] && echo 3 || echo 1; }
total_weight=0
for t in "${targets[@]}"; do total_weight=$((total_weight + $(weight "$t"))); done

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
help="$(cmake --build "$build_dir" --target help)"
build_targets=(image_reader_fuzz_seeds make_text_seeds)
for t in "${targets[@]}"; do
  if ! grep -q "^${t}_fuzz:" <<<"$help"; then
    echo "fuzz.sh: $build_dir has no ${t}_fuzz target: does tests/CMakeLists.txt add tests/fuzz?" >&2
    exit 1
  fi
  build_targets+=("${t}_fuzz")
done
echo "== build ${build_targets[*]}"
cmake --build "$build_dir" --target "${build_targets[@]}" -j "${CRCORE_FUZZ_BUILD_JOBS:-$(nproc)}"
if ((build_only)); then
  echo "fuzz.sh: built ${build_targets[*]} (--build-only: nothing run)"
  exit 0
fi

# -- seeds: written by the real writers, plus the real files in tests/fuzz/seeds/TARGET -----------------
for t in "${all_targets[@]}"; do
  rm -rf "$work/$t/seeds"
  mkdir -p "$work/$t/seeds" "$work/$t/corpus" "$work/$t/artifacts"
  if [[ -d "tests/fuzz/seeds/$t" ]]; then
    cp tests/fuzz/seeds/"$t"/* "$work/$t/seeds/"
  fi
done
echo "== seeds ($work/TARGET/seeds)"
"$build_dir/tests/fuzz/make_seeds" "$work/image_reader/seeds"
"$build_dir/tests/fuzz/make_text_seeds" "$work/snapshot_metadata/seeds" "$work/scope_index/seeds"

# -- run ------------------------------------------------------------------------------------------------
# UBSan reports abort (-fno-sanitize-recover) and count as crashes; give them a stack trace too.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
dict_of() { [[ "$1" == image_reader ]] && echo tests/fuzz/image.dict || echo "tests/fuzz/$1.dict"; }
share_of() {
  local share=$((seconds * $(weight "$1") / total_weight))
  ((share > 0)) || share=1
  echo "$share"
}

# Lanes: each fuzzer is one single-threaded in-process job, so with several cores the targets run side by
# side, each for its whole share of SECONDS (the budget per fuzzer does not change, only the wall time).
# Longest share first, each onto the lane with the least work so far: on 2 cores image_reader (90 s of
# 150) gets one lane and the two text readers run one after the other on the other (90 s of wall time).
lanes="${CRCORE_FUZZ_JOBS:-$(nproc)}"
if [[ "$lanes" == *[!0-9]* || "$lanes" == "" || "$lanes" == 0 ]]; then
  echo "fuzz.sh: CRCORE_FUZZ_JOBS must be a positive whole number, not '$lanes'" >&2
  exit 2
fi
((lanes <= ${#targets[@]})) || lanes=${#targets[@]}
mapfile -t by_share < <(for t in "${targets[@]}"; do echo "$(share_of "$t") $t"; done | sort -s -k1,1nr | cut -d' ' -f2)
lane_load=()
lane_targets=()
for ((l = 0; l < lanes; l++)); do lane_load[l]=0; lane_targets[l]=""; done
for t in "${by_share[@]}"; do
  best=0
  for ((l = 1; l < lanes; l++)); do
    ((lane_load[l] < lane_load[best])) && best=$l
  done
  lane_load[best]=$((lane_load[best] + $(share_of "$t")))
  lane_targets[best]="${lane_targets[best]} $t"
done

# One fuzzer run: writes its log, and its exit status to $dir/.run-status (read by the report below).
run_target() {
  local t="$1" share fuzzer dir status=0
  share="$(share_of "$t")"
  fuzzer="$build_dir/tests/fuzz/${t}_fuzz"
  dir="$work/$t"
  # One in-process job (libFuzzer's default; -jobs=N would fork workers that log to files instead).
  touch "$dir/.run-started"
  rm -f "$dir/.run-status"
  "$fuzzer" "${run_args[@]}" >"$dir/fuzz.log" 2>&1 || status=$?
  echo "$status" >"$dir/.run-status"
}
args_of() {
  local t="$1" dir="$work/$1"
  run_args=(
    -max_total_time="$(share_of "$t")"
    -rss_limit_mb=512
    -malloc_limit_mb=256
    -timeout=10
    -print_final_stats=1
    -dict="$(dict_of "$t")"
    -artifact_prefix="$dir/artifacts/"
    "$dir/corpus" "$dir/seeds"
  )
}

echo "== ${#targets[@]} fuzzer(s) on $lanes lane(s) (CRCORE_FUZZ_JOBS, default the number of cores)"
for ((l = 0; l < lanes; l++)); do
  for t in ${lane_targets[l]}; do
    args_of "$t"
    echo "== lane $((l + 1)): $t: $build_dir/tests/fuzz/${t}_fuzz ${run_args[*]}"
  done
done
lane_pids=()
for ((l = 0; l < lanes; l++)); do
  (
    for t in ${lane_targets[l]}; do
      args_of "$t"
      run_target "$t"
    done
  ) &
  lane_pids+=($!)
done
lane_failed=0
for pid in "${lane_pids[@]}"; do
  wait "$pid" || lane_failed=1
done

# -- report, in the order of the targets (each fuzzer's own log, as when they ran one after the other) --
failed=()
summary=()
for t in "${targets[@]}"; do
  share="$(share_of "$t")"
  fuzzer="$build_dir/tests/fuzz/${t}_fuzz"
  dir="$work/$t"
  stamp="$dir/.run-started"
  log="$dir/fuzz.log"
  status="$(cat "$dir/.run-status" 2>/dev/null || echo "none (the fuzzer's lane did not finish)")"
  echo "== $t"
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$log" 2>/dev/null | tail -n 2 || true
  grep -E '^stat::' "$log" 2>/dev/null || true
  executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" 2>/dev/null | tail -n 1)"
  mapfile -t findings < <(find "$dir/artifacts" -maxdepth 1 -type f -newer "$stamp" \
    \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
  line="fuzz.sh: $t: ${executions:-?} executions in ${share}s; corpus $(find "$dir/corpus" -type f | wc -l) inputs; log $log"
  echo "$line"
  summary+=("$line")
  if [[ "$status" != 0 ]] || ((${#findings[@]} > 0)); then
    echo "== the fuzzer's report (the end of $log)"
    grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)|NEW_FUNC' "$log" 2>/dev/null | tail -n 60 || true
    echo "FUZZING $t FOUND A PROBLEM (libFuzzer exit status $status):"
    for f in "${findings[@]}"; do
      echo "  $f"
      echo "    reproduce: $fuzzer $f"
    done
    failed+=("$t")
  fi
done

printf '%s\n' "${summary[@]}"
if ((${#failed[@]} > 0)); then
  echo "fuzz.sh: findings in: ${failed[*]}. Turn each into a regression test (docs/reliability.md, \"Fuzzing\")."
  exit 1
fi
if ((lane_failed != 0)); then
  echo "fuzz.sh: a fuzzing lane failed without a finding (see above)" >&2
  exit 1
fi
echo "fuzz.sh: no finding"
