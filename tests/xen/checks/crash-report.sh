# A fault on PVH (docs/architecture.md, "The two platforms", row "Crash report"):
# the guest itself prints the fault and an address backtrace on its console and
# shuts down as crashed, where on the hosted platform the hypervisor prints them
# (boot-crash-null-deref). rig.py names the addresses on the host with
# scripts/xen-symbolize.py and wants crash_here, call_crash and main among them.
. /rig/lib.sh
run_appliance crash crash_null.xen ''
wait_state crash 'c' 60 || { show_console crash; fail "crash_null did not crash (state $(state crash))"; }
wait_console crash '^atoll:   #[0-9]+ 0x' 10 3 || { show_console crash; fail "no backtrace of 3 frames"; }
console_has crash '^atoll: fault: vector 14 \(#PF' '^atoll: NULL pointer dereference' '^atoll: backtrace'
grep -q 'still alive' "$(console_log crash)" && fail "the guest ran on after the fault"
sed 's/^/console: /' "$(console_log crash)"
xl destroy crash
pass "fault report and backtrace on the console, domain crashed (state c)"
