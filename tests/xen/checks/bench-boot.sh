# Informational (bench/xen/run.sh): seconds from the start of `xl create` to
# main(): hello's first line ("Hello from Atoll!" is its main()'s first
# statement) and, as the reference, the Linux PVH control's first line (printed
# by its /init, PID 1's first statement). Alternating, BENCH_ROUNDS each.
# Clock: dom0's uptime, the console log polled every 50 ms.
#
# Each create starts after BENCH_SETTLE seconds (default 10) of quiet since the
# previous domain was destroyed, so that neither guest inherits the other's
# teardown (Xen scrubbing freed memory, dom0's hotplug scripts). Measured: it
# changed little (hello's create 2.9-4.8 s with it, 3.9-8.9 s without, at load
# 10-20); on this shared machine the create time follows the load more than
# what ran before (1.1-6.6 s for small appliances within one test run).
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
