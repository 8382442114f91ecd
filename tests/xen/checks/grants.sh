# The hosted boot test grants (the same source) on real Xen.
. /rig/lib.sh
run_appliance grants grants.xen ''
finish_appliance grants 0
console_has grants 'grants: PASSED'
pass "grants: PASSED"
