# hello: its greeting and its argv (from extra=) through xenconsoled; exit status 0.
. /rig/lib.sh
run_appliance hello hello.xen 'one "two words"'
finish_appliance hello 0
console_has hello '^Hello from Atoll!' '^argv\[1\] = "one"' '^argv\[2\] = "two words"'
pass "console and argv; exit status 0 on the console, the domain shut down (poweroff, not crash)"
