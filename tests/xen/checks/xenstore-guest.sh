# The hosted boot test xenstore_guest (the same source) on real Xen.
. /rig/lib.sh
run_appliance xenstore-guest xenstore_guest.xen ''
finish_appliance xenstore-guest 0
console_has xenstore-guest 'xenstore_guest: PASSED'
pass "xenstore_guest: PASSED"
