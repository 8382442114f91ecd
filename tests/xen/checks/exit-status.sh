# exit_status 42: the status reaches dom0 through xenstore (the domain's
# data/exit-status: Xen's SCHEDOP_shutdown carries only the reason) and the console.
. /rig/lib.sh
run_appliance exitst exit_status.xen '42'
wait_state exitst 's|c' 90 || { show_console exitst; fail "exitst did not shut down"; }
st=$(xenstore-read /local/domain/"$(domid exitst)"/data/exit-status) || fail "no data/exit-status in xenstore"
[ "$st" = 42 ] || fail "data/exit-status is '$st', not 42"
pass "data/exit-status 42 in xenstore"
finish_appliance exitst 42
console_has exitst 'exiting with 42'
pass "exit status 42 on the console, the domain shut down (poweroff)"
