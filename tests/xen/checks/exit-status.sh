# exit_status 42: the status reaches dom0 through xenstore.
. /rig/lib.sh
run_appliance exitst exit_status.xen '42'
finish_appliance exitst 42
console_has exitst 'exiting with 42'
pass "exit status 42 on the console, the domain shut down (poweroff)"
