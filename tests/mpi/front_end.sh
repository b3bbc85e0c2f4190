#!/usr/bin/env bash
# crcore's mpirun front end with Open MPI's real mpirun: `-am ft-enable-cr` applied (by name through the
# parameter file, by path, inside a list, as --am), LD_PRELOAD/GLIBC_TUNABLES merged with mpirun's
# environment, every other invocation passed through unchanged, a missing rank library refused.
#
# Usage: front_end.sh --work DIR -- PARAM_FILE      (PARAM_FILE: the built share/crcore/amca-param-sets/ft-enable-cr)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/mpi_lib.sh"

parse_work_args 1 "front_end.sh --work DIR -- PARAM_FILE" "$@"
param_file="${args[0]}"
front="$CRCORE_MPI_BIN/mpirun"
require_tools "$front"
fresh_dir "$work"
cd "$work"

# run_front NAME ARGS...: runs the front end (verbose) with a deadline; output in NAME.out/.err.
run_front() {
  local name="$1" tool_status
  shift
  tool_status="$(CRCORE_MPIRUN_VERBOSE=1 run_tool "$name.out" "$name.err" "$front" "$@")"
  [[ "$tool_status" == 0 ]] || fail "$name: mpirun $* exited with status $tool_status" "$(show "$name.err")" \
    "$(show "$name.out")"
}
# expect_lines NAME TEXT COUNT: NAME.out has exactly COUNT lines equal to TEXT.
expect_lines() {
  local n
  n="$(grep -c -x -F -- "$2" "$1.out" || true)"
  ((n == $3)) || fail "$1: expected $3 line(s) '$2', found $n" "$(show "$1.out")" "$(show "$1.err")"
}

say "the installed parameter set names the rank library and the rank environment"
grep -q -E '^mca_base_env_list = LD_PRELOAD=/[^;]*libcrmpi\.so;' "$param_file" &&
  grep -q 'GLIBC_TUNABLES=glibc.rtld.optional_static_tls=65536' "$param_file" && grep -q 'CRCORE_MPI=1' "$param_file" ||
  fail "$param_file does not set LD_PRELOAD, GLIBC_TUNABLES and CRCORE_MPI" "$(show "$param_file")"

say "passed through unchanged without ft-enable-cr"
run_front plain --oversubscribe -np 2 printenv OMPI_COMM_WORLD_SIZE
expect_lines plain 2 2
grep -q -F -- "exec $REAL_MPIRUN --oversubscribe -np 2 printenv OMPI_COMM_WORLD_SIZE" plain.err ||
  fail "plain: the arguments were changed" "$(show plain.err)"

libm=/lib/x86_64-linux-gnu/libm.so.6
mkdir -p sets
printf '# test set\nmca_base_env_list = LD_PRELOAD=%s;GLIBC_TUNABLES=glibc.rtld.optional_static_tls=65536;CRCORE_MPI=1;CRCORE_TEST_VAR=byname\n' \
  "$libm" >sets/byname
printf 'mca_base_env_list = CRCORE_TEST_VAR=bypath\n' >sets/ft-enable-cr

say "-am ft-enable-cr: the parameters reach the ranks (and not mpirun's own command)"
export CRCORE_FT_PARAM_FILE="$work/sets/byname"
run_front byname -am ft-enable-cr --oversubscribe -np 2 printenv CRCORE_TEST_VAR CRCORE_MPI LD_PRELOAD
expect_lines byname byname 2
expect_lines byname 1 2
expect_lines byname "$libm" 2
grep -q -- '-x CRCORE_TEST_VAR=byname' byname.err && ! grep -q -- ' -am ' byname.err ||
  fail "byname: -am was not replaced by -x options" "$(show byname.err)"

say "--am, and LD_PRELOAD/GLIBC_TUNABLES merged with mpirun's environment"
LD_PRELOAD=/lib/x86_64-linux-gnu/libpthread.so.0 GLIBC_TUNABLES=glibc.malloc.check=0 \
  run_front merged --am ft-enable-cr --oversubscribe -np 2 printenv LD_PRELOAD GLIBC_TUNABLES
expect_lines merged "$libm:/lib/x86_64-linux-gnu/libpthread.so.0" 2
expect_lines merged "glibc.malloc.check=0:glibc.rtld.optional_static_tls=65536" 2

say "-am PATH/ft-enable-cr, and ft-enable-cr inside a list of sets"
run_front bypath -am "$work/sets/ft-enable-cr" --oversubscribe -np 2 printenv CRCORE_TEST_VAR
expect_lines bypath bypath 2
run_front listed -am example.conf:ft-enable-cr --oversubscribe -np 2 printenv CRCORE_TEST_VAR
expect_lines listed byname 2
grep -q -- ' -am example.conf ' listed.err || fail "listed: the other set was dropped" "$(show listed.err)"

say "an -am after the program is the program's argument"
run_front after -np 1 echo -am ft-enable-cr
expect_lines after "-am ft-enable-cr" 1

say "a missing rank library is refused before mpirun starts"
printf 'mca_base_env_list = LD_PRELOAD=/nonexistent/libcrmpi.so;CRCORE_MPI=1\n' >sets/missing
CRCORE_FT_PARAM_FILE="$work/sets/missing" run_tool missing.out missing.err "$front" -am ft-enable-cr -np 1 true >missing.status
[[ "$(cat missing.status)" == 1 ]] && grep -q 'libcrmpi.so, which is missing' missing.err ||
  fail "missing: not refused clearly (status $(cat missing.status))" "$(show missing.err)"
CRCORE_FT_PARAM_FILE="$work/sets/none" run_tool unreadable.out unreadable.err "$front" -am ft-enable-cr -np 1 true \
  >unreadable.status
[[ "$(cat unreadable.status)" == 1 ]] && grep -q 'cannot read the parameter file' unreadable.err ||
  fail "unreadable: not refused clearly" "$(show unreadable.err)"
say "PASS: the front end applies ft-enable-cr and passes everything else through"
