# `xl reboot`: the control comes back (a new domid, a second CONTROL-UP).
. /rig/lib.sh
ensure_control ctl
old=$(domid ctl); ups=$(grep -c '^CONTROL-UP' "$(console_log ctl)")
t0=$(now)
xl reboot ctl || fail "xl reboot"
# xl's monitor destroys the domain and builds it again under a new domid;
# xenconsoled appends the new domain's output to the same log.
i=0
while new=$(domid ctl); [ -z "$new" ] || [ "$new" = "$old" ]; do
  i=$((i + 1)); [ $i -gt $((300 * PATIENCE)) ] && { xl list; cat /var/log/xen/xl-ctl.log; fail "no new ctl domain after xl reboot"; }
  sleep 0.2
done
wait_console ctl '^CONTROL-UP' 90 $((ups + 1)) || { show_console ctl; cat /var/log/xen/xl-ctl.log; fail "no CONTROL-UP after reboot"; }
pass "rebooted in $(since "$t0") s (domid $old -> $new)"
