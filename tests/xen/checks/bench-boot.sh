# Informational: seconds from `xl create` to the first console line, for the
# Linux PVH control and (when built) hello, alternating, BENCH_ROUNDS times each.
# Times are dom0 uptime differences, polled every 0.2 s.
. /rig/lib.sh
control_initrd
for r in $(seq 1 "${BENCH_ROUNDS:-3}"); do
  xl_create bl "$(control_config)" 'extra = "console=hvc0 loglevel=3"'
  created=$(since "$CREATE_T0")
  wait_console bl '^CONTROL-UP' 120 || { show_console bl; fail "linux: no CONTROL-UP"; }
  echo "ok: BENCH linux-pvh round=$r create_returned=$created first_line=$(since "$CREATE_T0")"
  xl destroy bl
  if [ -f /rig/images/hello.xen ]; then
    xl_create bh "$(appliance_config hello.xen 'bench')"
    created=$(since "$CREATE_T0")
    wait_console bh '^Hello from Atoll!' 60 || { show_console bh; fail "hello: no greeting"; }
    echo "ok: BENCH hello round=$r create_returned=$created first_line=$(since "$CREATE_T0")"
    xl destroy bh
  fi
done
