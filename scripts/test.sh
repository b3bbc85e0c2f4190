#!/usr/bin/env bash
# The test command: installs the dependencies, builds into build/, runs every test with ctest.
#
# Usage: scripts/test.sh [CTEST ARGS...]      e.g. scripts/test.sh -L unit, scripts/test.sh -R e2e_counter
# Set CRCORE_SKIP_DEPS=1 to skip scripts/install-deps.sh (no root needed then).
# Exit status: ctest's (or the failing step's).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if [[ "${CRCORE_SKIP_DEPS:-0}" != 1 ]]; then
  echo "== install dependencies (scripts/install-deps.sh)"
  scripts/install-deps.sh
fi
scripts/build.sh build

echo "== ctest --test-dir build --output-on-failure -j2 $*"
# --timeout only applies to tests that set no TIMEOUT of their own.
exec ctest --test-dir build --output-on-failure -j2 --timeout 600 "$@"
