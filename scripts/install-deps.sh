#!/usr/bin/env bash
# Installs the Debian 12 packages crcore needs to build and test.
#
# Idempotent: packages already installed are skipped (a second run only asks dpkg, and takes about a
# second); `apt-get update` runs at most once per call, and not at all if it ran in the last hour.
# Runs as root, or through sudo when that exists.
#
# Usage: scripts/install-deps.sh
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config g++ clang-format
  libgtest-dev libgmock-dev googletest
  libzstd-dev zstd libxxhash-dev libcli11-dev libfmt-dev nlohmann-json3-dev
  openmpi-bin libopenmpi-dev libpmix-dev libhwloc-dev
  python3 file procps util-linux passwd
  clang libclang-rt-14-dev
  python3-matplotlib fio
  libfuse3-dev fuse3
  slurm-wlm libslurm-dev munge
  # the kernel-module backend: headers to build crcore.ko, the kernel it is tested on in QEMU (tests/kmod)
  # (one pinned release: the metapackages point at whatever is newest, and both must match)
  linux-headers-6.1.0-47-amd64 linux-image-6.1.0-47-amd64 qemu-system-x86 cpio
)
# Written after every successful `apt-get update` by this script.
UPDATE_STAMP=/var/lib/apt/crcore-update.stamp

say() { printf 'install-deps: %s\n' "$*"; }

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  say "this script needs Debian (dpkg and apt-get); install the packages by hand: ${PACKAGES[*]}" >&2
  exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)" != installed ]]; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]} == 0)); then
  say "all ${#PACKAGES[@]} packages are installed"
  exit 0
fi
say "missing: ${missing[*]}"

as_root=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null; then
    as_root=(sudo)
  else
    say "not root and no sudo: run as root, or install these packages: ${missing[*]}" >&2
    exit 1
  fi
fi
apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)

if [[ -n "$(find "$UPDATE_STAMP" -mmin -60 2>/dev/null)" ]]; then
  say "apt-get update ran less than an hour ago; not running it again"
else
  say "apt-get update"
  "${apt[@]}" update -q
  "${as_root[@]}" touch "$UPDATE_STAMP"
fi

say "apt-get install ${missing[*]}"
"${apt[@]}" install -y -q "${missing[@]}"
say "done"
