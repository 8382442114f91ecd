#!/usr/bin/env bash
# Boots one Atoll PVH image as the *dom0* of Debian's real Xen 4.17 under
# qemu-system-x86_64 (TCG), for working on kernel/platform/xen without the
# conformance rig (tests/xen/). As dom0 the guest has no console ring and no
# xenstore, but its HYPERVISOR_console_io output reaches Xen's serial line,
# which this script prints: enough to see the entry, page tables, IDT, the
# hypercall page, shared_info, event upcalls (the timer), grant frames, faults
# and the shutdown.
#
#   scripts/xen-dom0-smoke.sh IMAGE.xen [ARGS...]
#
# Needs qemu-system-x86_64 and the Xen hypervisor binary; XEN=path/to/xen
# (gunzipped xen-4.17-amd64) or, by default, one unpacked from
# `apt-get download xen-hypervisor-4.17-amd64` into $ATOLL_XEN_DIR (never
# installed: the host's boot configuration stays untouched). TIMEOUT (s,
# default 120) bounds the run. Exits 0 when Xen reports dom0 shut down with
# reason 0 (poweroff), 1 otherwise, 77 when QEMU or Xen is not available.
set -euo pipefail
image=${1:?usage: xen-dom0-smoke.sh IMAGE.xen [ARGS...]}
shift
xen_dir=${ATOLL_XEN_DIR:-${TMPDIR:-/tmp}/atoll-xen-4.17}
timeout_s=${TIMEOUT:-120}

command -v qemu-system-x86_64 >/dev/null || { echo "xen-dom0-smoke: no qemu-system-x86_64" >&2; exit 77; }
xen=${XEN:-$xen_dir/xen-4.17-amd64}
if [[ ! -f $xen ]]; then
  mkdir -p "$xen_dir"
  (cd "$xen_dir" && apt-get download xen-hypervisor-4.17-amd64 >/dev/null 2>&1 &&
     dpkg-deb -x xen-hypervisor-4.17-amd64_*.deb unpacked) ||
    { echo "xen-dom0-smoke: cannot fetch xen-hypervisor-4.17-amd64" >&2; exit 77; }
  # QEMU's multiboot loader wants the plain ELF, not the .gz.
  zcat "$xen_dir"/unpacked/boot/xen-4.17-amd64.gz >"$xen"
fi

# dom0=pvh needs HAP: EPYC has NPT; -smap and -monitor avoid the two TCG
# problems in ../shared/docs/xen-under-qemu.md. A PVH dom0 also needs an IOMMU
# (Xen panics "iommu must be enabled for PVH hardware domain"): QEMU's VT-d
# model serves. QEMU's -initrd splits modules on commas, so the guest's
# arguments must not contain any.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
timeout "$timeout_s" qemu-system-x86_64 -accel tcg -machine q35 -cpu EPYC,-smap,-monitor -smp 1 -m 512 \
  -nographic -no-reboot -nic none -device intel-iommu,intremap=off \
  -kernel "$xen" \
  -append "console=com1 com1=115200 loglvl=all guest_loglvl=all dom0=pvh dom0_mem=64M,max:64M noreboot" \
  -initrd "$image $(basename "$image" .xen) $*" </dev/null >"$log" 2>&1 &
qemu=$!
# With noreboot Xen stops but QEMU keeps running: end it once dom0 is gone.
end='Hardware Dom0 (halted|shutdown|crashed)|Panic on CPU|domain_crash'
tail -n +1 -f --pid=$qemu "$log" &
tailer=$!
while kill -0 $qemu 2>/dev/null && ! grep -Eq "$end" "$log"; do sleep 0.5; done
sleep 0.5
kill $qemu 2>/dev/null || true
wait $qemu 2>/dev/null || true
kill $tailer 2>/dev/null || true
# Xen reports a PVH dom0's SHUTDOWN_poweroff as "halted".
grep -q "Hardware Dom0 halted" "$log"
