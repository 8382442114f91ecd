# The hosted boot test evtchn_pingpong (the same source) on real Xen.
. /rig/lib.sh
run_appliance evtchn-pingpong evtchn_pingpong.xen ''
finish_appliance evtchn-pingpong 0
console_has evtchn-pingpong 'evtchn_pingpong: PASSED'
pass "evtchn_pingpong: PASSED"
