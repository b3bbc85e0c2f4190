#!/usr/bin/env bash
# The installed launcher side: `cmake --install` (into DESTDIR, with --prefix), then share/crcore/env.sh puts
# the installed tools and mpirun front end first on PATH, the front end passes plain invocations through
# and finds its installed ft-enable-cr, ft-enable-cr is copied into Open MPI's amca-param-sets directory
# when that is writable, and cr_info finds its snapshot helper. Nothing outside the work directory changes.
#
# Usage: install.sh --work DIR -- BUILD_DIR AMCA_DIR      (AMCA_DIR: Open MPI's directory, or NONE)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/mpi_lib.sh"

parse_work_args 2 "install.sh --work DIR -- BUILD_DIR AMCA_DIR" "$@"
build="${args[0]}" amca="${args[1]}"
fresh_dir "$work"
cd "$work"
dest="$work/dest" prefix=/opt/crcore-test
if [[ "$amca" != NONE && -n "$amca" ]]; then
  mkdir -p "$dest$amca" # writable: the copy must land there (inside DESTDIR)
fi

say "cmake --install $build --prefix $prefix (DESTDIR=$dest)"
status="$(DESTDIR="$dest" run_tool install.out install.err cmake --install "$build" --prefix "$prefix")"
[[ "$status" == 0 ]] || fail "cmake --install failed ($status)" "$(show install.err)" "$(show install.out)"
root="$dest$prefix"
for f in bin/ompi-checkpoint bin/ompi-restart bin/crcore-mpirun bin/cr_info libexec/crcore/mpi-bin/mpirun \
  libexec/crcore/mpi-bin/mpiexec libexec/crcore/crcore-mpi-rank-restart libexec/crcore/crcore-snapshot-info \
  share/crcore/env.sh share/crcore/amca-param-sets/ft-enable-cr; do
  [[ -e "$root/$f" ]] || fail "$f was not installed" "$(show install.out 40)"
done
grep -q "LD_PRELOAD=$prefix/lib/libcrmpi.so;" "$root/share/crcore/amca-param-sets/ft-enable-cr" ||
  fail "the installed ft-enable-cr does not preload $prefix/lib/libcrmpi.so" \
    "$(show "$root/share/crcore/amca-param-sets/ft-enable-cr")"
if [[ "$amca" != NONE && -n "$amca" ]]; then
  cmp -s "$dest$amca/ft-enable-cr" "$root/share/crcore/amca-param-sets/ft-enable-cr" ||
    fail "ft-enable-cr was not copied into the writable $dest$amca" "$(show install.out 40)"
  say "  ft-enable-cr copied into Open MPI's $amca (under DESTDIR)"
fi

say "env.sh (bash, sourced twice) puts the installed tools and mpirun first"
# shellcheck source=/dev/null
. "$root/share/crcore/env.sh"
# shellcheck source=/dev/null
. "$root/share/crcore/env.sh"
[[ "$(command -v mpirun)" == "$root/libexec/crcore/mpi-bin/mpirun" ]] ||
  fail "mpirun is $(command -v mpirun), not the installed front end"
[[ "$(command -v ompi-checkpoint)" == "$root/bin/ompi-checkpoint" ]] ||
  fail "ompi-checkpoint is $(command -v ompi-checkpoint)"
n="$(tr ':' '\n' <<<"$PATH" | grep -c -x -F "$root/bin")"
((n == 1)) || fail "$root/bin is $n times on PATH after loading env.sh twice"

say "the installed front end passes through, and finds its own ft-enable-cr"
status="$(run_tool plain.out plain.err mpirun --oversubscribe -np 2 echo hello)"
[[ "$status" == 0 && "$(grep -c -x hello plain.out)" == 2 ]] || fail "mpirun -np 2 echo hello" "$(show plain.err)"
status="$(run_tool ft.out ft.err mpirun -am ft-enable-cr -np 1 true)"
[[ "$status" == 1 ]] && grep -q -F "$root/share/crcore/amca-param-sets/ft-enable-cr preloads $prefix/lib/libcrmpi.so" ft.err ||
  fail "-am ft-enable-cr did not use the installed parameter file (status $status)" "$(show ft.err)"

say "the installed cr_info hands a directory to its snapshot helper"
mkdir -p not-a-snapshot
status="$(run_tool info.out info.err cr_info not-a-snapshot)"
[[ "$status" == 1 ]] && grep -q 'not a complete snapshot' info.err || fail "cr_info DIR (status $status)" "$(show info.err)"
say "PASS: installed, found on PATH through env.sh, parameter set in place"
