# `xl shutdown -w`: the control powers itself off and the domain goes away.
. /rig/lib.sh
ensure_control ctl
t0=$(now)
out=$(timeout $((60 * PATIENCE)) xl shutdown -w ctl 2>&1) || { echo "$out"; show_console ctl; fail "xl shutdown -w"; }
running ctl && fail "ctl still listed after xl shutdown -w"
echo "$out" | grep -q 'shut down, reason code 0' || { echo "$out"; fail "xl saw no poweroff (reason code 0)"; }
grep -q '^CONTROL-POWEROFF' "$(console_log ctl)" || { show_console ctl; fail "the guest did not see the poweroff request"; }
pass "shut down in $(since "$t0") s"
