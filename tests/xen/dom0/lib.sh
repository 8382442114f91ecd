# Helpers for the dom0 checks (sourced). Times are dom0 uptime seconds.
export PATH=/usr/sbin:/usr/bin:/usr/lib/xen-4.17/bin
CONSOLE_DIR=/var/log/xen/console
# Every bound below (waits in seconds, retry counts) is multiplied by PATIENCE:
# they are there to end a check that is stuck, not to time it, and under TCG on
# a loaded 2-core machine (meson's parallel run) dom0 is 5-20 times slower than
# on an idle one (tests/xen/README.md).
# The runner's BENCH_* and PATIENCE settings (rig.py writes /rig/env).
[ -f /rig/env ] && set -a && . /rig/env && set +a
PATIENCE=${PATIENCE:-4}

now() { cut -d' ' -f1 /proc/uptime; }
since() { awk "BEGIN{printf \"%.2f\", $(now) - $1}"; }
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
pass() { echo "ok: $*"; }

console_log() { echo "$CONSOLE_DIR/guest-$1.log"; }
# wait_console NAME REGEX SECONDS [COUNT]: waits until NAME's console log has COUNT
# (default 1) lines matching REGEX.
wait_console() {
  local log; log=$(console_log "$1"); local want=${4:-1} end=$(( $(cut -d. -f1 /proc/uptime) + $3 * PATIENCE ))
  while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
    n=$(grep -c -E "$2" "$log" 2>/dev/null)
    [ "${n:-0}" -ge "$want" ] && return 0
    sleep 0.2
  done
  return 1
}
show_console() { echo "--- console of $1:"; sed 's/^/  | /' "$(console_log "$1")" 2>/dev/null | tail -${2:-40}; }
domid() { xl domid "$1" 2>/dev/null; }
running() { xl list "$1" >/dev/null 2>&1; }
# wait_gone NAME SECONDS
wait_gone() {
  local i=0
  while running "$1"; do i=$((i + 1)); [ $i -gt $(( $2 * 5 * PATIENCE )) ] && return 1; sleep 0.2; done
}
# The domain's state letters from `xl list` (r b p s c d).
state() { xl list "$1" 2>/dev/null | awk 'NR == 2 {print $5}'; }

# xl_create NAME CONFIG-LINES...: writes /tmp/NAME.cfg and creates the domain.
xl_create() {
  local name=$1; shift
  { echo "name = \"$name\""; for l in "$@"; do echo "$l"; done; } >/tmp/"$name".cfg
  rm -f "$(console_log "$name")"
  CREATE_T0=$(now)
  # Debian's xl itself sometimes dies of SIGSEGV under QEMU TCG (seen in
  # `xl create`, its domain-monitoring child and `xl list`; tests/xen/README.md).
  # That is the rig's tool failing, not the guest: one more try, from a clean
  # slate, and a failure after it is a failure.
  local out rc
  out=$(xl create /tmp/"$name".cfg 2>&1); rc=$?
  echo "$out"
  local crashed=0
  { [ $rc -ge 128 ] || echo "$out" | grep -q -E 'Segmentation fault|fatal signal'; } && crashed=1
  if [ $rc -ne 0 ] || [ $crashed = 1 ]; then
    if [ $crashed = 1 ]; then
      echo "xl crashed (rig tool, not the guest): destroying $name and creating it again"
      xl destroy "$name" 2>/dev/null
      rm -f "$(console_log "$name")"
      CREATE_T0=$(now)
      xl create /tmp/"$name".cfg || { cat /tmp/"$name".cfg; fail "xl create $name (second try)"; }
    else
      cat /tmp/"$name".cfg; fail "xl create $name"
    fi
  fi
  echo "xl create $name returned after $(since "$CREATE_T0") s"
}

# The Linux control's kernel command line.
CONTROL_EXTRA="console=hvc0 loglevel=3"

# The Linux control guest: Debian's kernel as a PVH domU with a busybox initrd.
# tsc_mode="native": under TCG, Xen's RDTSC intercept mis-decodes RDTSCP and
# crashes PVH guests (docs/xen-under-qemu.md).
control_config() {
  echo 'type = "pvh"'
  echo 'kernel = "/guest/vmlinux"'
  echo 'ramdisk = "/tmp/control-initrd"'
  echo 'memory = 128'
  echo 'vcpus = 1'
  echo 'tsc_mode = "native"'
  echo 'on_poweroff = "destroy"'
  echo 'on_reboot = "restart"'
  echo 'on_crash = "preserve"'
}
# The cached busybox initrd (/guest) plus this run's /init (/rig/domu-init.cpio):
# Linux unpacks concatenated archives in order.
control_initrd() {
  [ -f /tmp/control-initrd ] || cat /guest/domu-initrd.cpio /rig/domu-init.cpio >/tmp/control-initrd
}
# ensure_control NAME: the control guest NAME, up and past its first marker.
ensure_control() {
  control_initrd
  if ! running "$1"; then
    xl_create "$1" "$(control_config)" "extra = \"$CONTROL_EXTRA\""
  fi
  wait_console "$1" '^CONTROL-UP' 90 || { show_console "$1"; fail "$1 printed no CONTROL-UP"; }
}

# Our PVH appliance images arrive in /rig/images (rig.py copies them in).
appliance_config() {  # IMAGE EXTRA
  echo 'type = "pvh"'
  echo "kernel = \"/rig/images/$1\""
  echo 'memory = 32'
  echo 'vcpus = 1'
  echo 'tsc_mode = "native"'
  # The PVH platform's command line is the whole argv, the program first
  # (kernel/platform/xen: argv[0] is the first word, as `atoll run` gives it).
  echo "extra = '${1%.xen} $2'"
  echo 'on_poweroff = "preserve"'
  echo 'on_reboot = "restart"'
  echo 'on_crash = "preserve"'
}
need_image() { [ -f /rig/images/"$1" ] || skip "image $1 not in the overlay"; }
# A guest's exit status. Real Xen's SCHEDOP_shutdown carries only a reason, so
# the PVH platform prints "atoll: exit status N" on its console before
# SHUTDOWN_poweroff (kernel/platform/xen/shutdown.cpp); a crash is
# SHUTDOWN_crash. With on_poweroff/on_crash="preserve" the domain stays, in
# state s (shut down) or c (crashed), until xl destroy.
# make_disk FILE MIB: a sparse file with a recognisable first sector; prints the loop device.
make_disk() {
  dd if=/dev/zero of="$1" bs=1M count=0 seek="$2" 2>/dev/null
  printf 'XENDISK-HELLO-FROM-DOM0' | dd of="$1" conv=notrunc 2>/dev/null
  local dev; dev=$(losetup -f) && losetup "$dev" "$1" && echo "$dev"
}

# wait_state NAME REGEX SECONDS: until `xl list`'s state letters match REGEX.
wait_state() {
  local i=0
  until state "$1" | grep -q -E "$2"; do
    i=$((i + 1)); [ $i -gt $(( $3 * 5 * PATIENCE )) ] && return 1; sleep 0.2
  done
}
# run_appliance NAME IMAGE EXTRA [CONFIG-LINES...]: boots one of our images, reports
# the time to its first console line, and waits for it to shut down (preserved).
run_appliance() {
  local name=$1 image=$2 extra=$3; shift 3
  need_image "$image"
  xl destroy "$name" 2>/dev/null
  xl_create "$name" "$(appliance_config "$image" "$extra")" "$@"
  wait_console "$name" '.' 60 || { xl list; fail "$name printed nothing in $((60 * PATIENCE)) s"; }
  echo "first console line $(since "$CREATE_T0") s after xl create"
}
# finish_appliance NAME STATUS: NAME shut down (not crashed) with exit status STATUS.
finish_appliance() {
  wait_state "$1" 's|c' 90 || { show_console "$1"; fail "$1 did not shut down in $((90 * PATIENCE)) s"; }
  local st; st=$(state "$1")
  case $st in *c*) show_console "$1"; fail "$1 crashed (state $st)";; esac
  # xenconsoled drains the ring after the domain stops: poll for the last line.
  wait_console "$1" "^atoll: exit status $2\$" 5 ||
    { show_console "$1"; fail "$1: no 'atoll: exit status $2' on its console"; }
  xl destroy "$1"
}
console_has() {  # NAME REGEX...
  local name=$1 log; log=$(console_log "$1"); shift
  for re in "$@"; do grep -q -E "$re" "$log" || { show_console "$name"; fail "$name's console lacks /$re/"; }; done
}

# console_uptime NAME PREFIX SECONDS: dom0's uptime when NAME's console log
# first has a line starting with PREFIX, polled every 50 ms with the shell's own
# read (the benchmark's clock: a fork per poll would take the one CPU from the
# guest being timed). Fails after SECONDS (times PATIENCE).
console_uptime() {
  local log; log=$(console_log "$1"); local i=0 bound=$(( $3 * 20 * PATIENCE )) l up rest
  while [ $i -lt $bound ]; do
    if [ -f "$log" ]; then
      while IFS= read -r l; do
        case $l in "$2"*) read -r up rest </proc/uptime; echo "$up"; return 0 ;; esac
      done <"$log"
    fi
    i=$((i + 1)); usleep 50000
  done
  return 1
}
