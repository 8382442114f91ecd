# hello booted from the xl config the build wrote (apps/hello/hello.cfg, by
# scripts/xen-config.py): its greeting and its argv (from extra=) through
# xenconsoled; exit status 0. Only what differs in dom0 is overridden on xl's
# command line: the image's path, and preserve on poweroff for the status.
. /rig/lib.sh
need_image hello.xen
need_image hello.cfg
xl destroy hello 2>/dev/null
rm -f "$(console_log hello)"
CREATE_T0=$(now)
xl create /rig/images/hello.cfg 'kernel="/rig/images/hello.xen"' "extra='hello one \"two words\"'" \
  'on_poweroff="preserve"' || { cat /rig/images/hello.cfg; fail "xl create of the build's hello.cfg"; }
echo "xl create hello returned after $(since "$CREATE_T0") s"
wait_console hello '.' 60 || { xl list; fail "hello printed nothing in $((60 * PATIENCE)) s"; }
echo "first console line $(since "$CREATE_T0") s after xl create"
finish_appliance hello 0
console_has hello '^Hello from Atoll!' '^argv\[0\] = "hello"' '^argv\[1\] = "one"' '^argv\[2\] = "two words"'
pass "the build's hello.cfg boots; console and argv; exit status 0, the domain shut down (poweroff, not crash)"
