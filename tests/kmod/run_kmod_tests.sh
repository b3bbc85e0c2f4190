#!/usr/bin/env bash
# The kmod lane: boots Debian's kernel (the one crcore.ko was built for) in QEMU with TCG, the host's
# root file system shared read-only over 9p, and runs tests/kmod/guest_tests.sh inside: the module is
# loaded, real checkpoints and restarts go through it, then the abuse cases and the kernel-log check.
#
# Usage: run_kmod_tests.sh --module crcore.ko --probe kmod_probe --work DIR [--kernel VMLINUZ]
#   Tools and programs come from the environment (CTest sets them): CRCORE_CR_RUN, CRCORE_CR_CHECKPOINT,
#   CRCORE_CR_RESTART, CRCORE_CR_INFO, CRCORE_KMOD_COUNTER, CRCORE_KMOD_BLCR_CLIENT,
#   CRCORE_KMOD_SLOW_CALLBACK, CRCORE_KMOD_WORKLOAD (bench/workload).
# Needs qemu-system-x86_64, the kernel image /boot/vmlinuz-RELEASE for the module's vermagic, its
# modules (virtio, 9p) in /lib/modules/RELEASE, cpio and a static libc (scripts/install-deps.sh).
# Exit 0 when every guest case passed; the guest's console log is DIR/console.log.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
module="" probe="" work="" kernel=""
while (($# > 0)); do
  case "$1" in
    --module) module="$2"; shift 2 ;;
    --probe) probe="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --kernel) kernel="$2"; shift 2 ;;
    *) echo "run_kmod_tests.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
fail() { echo "kmod: FAIL: $*" >&2; exit 1; }
[[ -f "$module" && -x "$probe" && -n "$work" ]] || fail "give --module crcore.ko --probe kmod_probe --work DIR"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 is missing (apt-get install qemu-system-x86)"
command -v cpio >/dev/null || fail "cpio is missing"
release="$(modinfo -F vermagic "$module" | cut -d' ' -f1)"
: "${kernel:=/boot/vmlinuz-$release}"
[[ -f "$kernel" ]] || fail "no kernel image $kernel for the module's release $release (apt-get install linux-image-$release)"
mods="/lib/modules/$release/kernel"
[[ -d "$mods" ]] || fail "no $mods: the guest needs that kernel's virtio and 9p modules"

rm -rf "$work"
mkdir -p "$work/initramfs/modules" "$work/initramfs/proc" "$work/initramfs/newroot"
# The guest's init: static, so that the initramfs needs no libc.
cc -static -O2 -o "$work/initramfs/init" "$here/guest_init.c" || fail "cannot build the static guest init (libc6-dev)"
# Virtio and 9p, in load order. Their signatures are stripped: checking a signature in software under
# TCG takes seconds per module, and unsigned modules load (the kernel is tainted, fine for a test).
strip_signature() {
  python3 - "$1" "$2" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
magic = b'~Module signature appended~\n'
if data.endswith(magic):
    sig_len = struct.unpack('>I', data[-len(magic) - 4:-len(magic)])[0]
    data = data[:-len(magic) - 12 - sig_len]
open(sys.argv[2], 'wb').write(data)
PY
}
for m in drivers/virtio/virtio drivers/virtio/virtio_ring drivers/virtio/virtio_pci_modern_dev \
  drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci net/9p/9pnet net/9p/9pnet_virtio \
  fs/netfs/netfs fs/fscache/fscache fs/9p/9p; do
  src="$mods/$m.ko"
  [[ -f "$src" ]] || fail "$src is missing"
  strip_signature "$src" "$work/initramfs/modules/$(basename "$m").ko"
  echo "$(basename "$m").ko" >>"$work/initramfs/modules/order"
done
(cd "$work/initramfs" && find . | cpio -o -H newc --quiet >"$work/initramfs.cpio")

cat >"$work/guest.env" <<EOV
MODULE='$(readlink -f "$module")'
PROBE='$(readlink -f "$probe")'
E2E='$(cd "$here/../e2e" && pwd)'
COUNTER='${CRCORE_KMOD_COUNTER:?}'
BLCR_CLIENT='${CRCORE_KMOD_BLCR_CLIENT:?}'
SLOW_CALLBACK='${CRCORE_KMOD_SLOW_CALLBACK:?}'
BENCH='$(cd "$here/../../bench" && pwd)/kmod_backends.sh'
WORKLOAD='${CRCORE_KMOD_WORKLOAD:?}'
CRCORE_CR_RUN='${CRCORE_CR_RUN:?}'
CRCORE_CR_CHECKPOINT='${CRCORE_CR_CHECKPOINT:?}'
CRCORE_CR_RESTART='${CRCORE_CR_RESTART:?}'
CRCORE_CR_INFO='${CRCORE_CR_INFO:?}'
EOV

echo "kmod: booting $kernel (TCG, 2 cpus) with crcore.ko for $release; console: $work/console.log"
# slub_debug: red zones, poisoning and sanity checks on every slab (Debian's kernel has no KASAN or
# KFENCE; these are the debug options it has). panic=-1 + -no-reboot: a panic ends QEMU at once.
start=$SECONDS
status=0
timeout --kill-after=10 540 qemu-system-x86_64 -accel tcg -m 1536 -smp 2 -display none -no-reboot -monitor none \
  -serial "file:$work/console.log" -kernel "$kernel" -initrd "$work/initramfs.cpio" \
  -append "console=ttyS0 panic=-1 loglevel=4 slub_debug=FZPU crcore_run=$here/guest_tests.sh crcore_env=$work/guest.env" \
  -virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap || status=$?
echo "kmod: the guest ran $((SECONDS - start)) s (qemu status $status)"
grep -E '^(KMOD-|guest-init:|\s{4})' "$work/console.log" | grep -v -E '^KMOD-(BEGIN|NOTE   ok)' || true
if grep -q -E 'Kernel panic|BUG:|Oops|WARNING:' "$work/console.log"; then
  grep -E -A20 'Kernel panic|BUG:|Oops|WARNING:' "$work/console.log" | head -60
  fail "the guest kernel reported a problem (see $work/console.log)"
fi
((status == 0)) || fail "QEMU did not finish in time or failed (status $status)"
grep -q '^KMOD-TESTS: PASS' "$work/console.log" || fail "the guest cases did not all pass (see $work/console.log)"
echo "kmod: PASS"
