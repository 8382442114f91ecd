# Informational (bench/xen/run.sh): seconds from the start of `xl create` to
# main(): hello's first line ("Hello from Atoll!" is its main()'s first
# statement) and, as the reference, the Linux PVH control's first line (printed
# by its /init, PID 1's first statement). Alternating, BENCH_ROUNDS each.
# Clock: dom0's uptime, the console log polled every 50 ms.
#
# Each create starts from a quiet machine: BENCH_SETTLE seconds (default 10)
# after the previous domain is destroyed. Without it, hello created right after
# the 128 MiB Linux domain went away took 4.2-5.5 s to create against 1.4 s
# in the test run, most likely behind Xen scrubbing the freed memory and dom0
# tearing the last domain down.
. /rig/lib.sh
need_image hello.xen
control_initrd
settle=${BENCH_SETTLE:-10}
for r in $(seq 1 "${BENCH_ROUNDS:-3}"); do
  sleep "$settle"
  xl_create bl "$(control_config)" "extra = \"$CONTROL_EXTRA\"" >/dev/null
  created=$(since "$CREATE_T0")
  up=$(console_uptime bl CONTROL-UP 120) || { show_console bl; fail "linux: no CONTROL-UP"; }
  echo "ok: BENCH linux-pvh round=$r create_returned=$created main=$(awk "BEGIN{printf \"%.2f\", $up - $CREATE_T0}")"
  xl destroy bl
  sleep "$settle"
  xl_create bh "$(appliance_config hello.xen 'bench')" >/dev/null
  created=$(since "$CREATE_T0")
  up=$(console_uptime bh 'Hello from Atoll!' 60) || { show_console bh; fail "hello: no greeting"; }
  echo "ok: BENCH hello round=$r create_returned=$created main=$(awk "BEGIN{printf \"%.2f\", $up - $CREATE_T0}")"
  wait_state bh 's|c' 60
  xl destroy bh
done
