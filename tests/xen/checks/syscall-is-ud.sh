# A raw Linux system call on PVH (docs/architecture.md, "The two platforms", row
# "Sandbox"): `syscall` is #UD (EFER.SCE is off), a fault that crashes the
# domain, where the hosted platform's seccomp filter kills it
# (boot-escape-syscall-killed).
. /rig/lib.sh
run_appliance escape escape_syscall.xen ''
wait_state escape 'c' 60 || { show_console escape; fail "escape_syscall did not crash (state $(state escape))"; }
wait_console escape '^atoll: fault: vector 6 \(#UD' 10 || { show_console escape; fail "no #UD fault report"; }
console_has escape '^about to call getpid'
grep -q 'escaped' "$(console_log escape)" && { show_console escape; fail "the system call returned"; }
xl destroy escape
pass "syscall is #UD and crashes the domain"
