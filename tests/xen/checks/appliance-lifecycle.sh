# Lifecycle of one of our appliances: xl console, xl reboot, xl shutdown, xl destroy.
. /rig/lib.sh
need_image httpd.xen
net="vif = [ 'bridge=xenbr0,mac=00:16:3e:00:00:12,ip=192.0.2.12 255.255.255.0 192.0.2.1' ]"
run_appliance life httpd.xen '' "$net" 'ramdisk = "/rig/data/site.tar"'
wait_console life 'httpd: serving' 60 || { show_console life; fail "no 'httpd: serving'"; }
# xl console replays what the console holds: poll for the line, then detach.
xl console life </dev/null >/tmp/life-console.out 2>&1 &
xlc=$!
i=0; until grep -q 'httpd: serving' /tmp/life-console.out; do
  i=$((i + 1)); [ $i -gt $((50 * PATIENCE)) ] && break; sleep 0.2
done
kill $xlc 2>/dev/null; wait $xlc 2>/dev/null
grep -q 'httpd: serving' /tmp/life-console.out || fail "xl console did not show the appliance's output"
pass "xl console"
old=$(domid life); n=$(grep -c 'httpd: serving' "$(console_log life)")
xl reboot life || fail "xl reboot"
wait_console life 'httpd: serving' 60 $((n + 1)) || { show_console life; fail "not serving again after xl reboot"; }
[ "$(domid life)" != "$old" ] || fail "same domid after reboot"
pass "xl reboot"
timeout $((60 * PATIENCE)) xl shutdown -w life || { show_console life; fail "xl shutdown -w"; }
[ "$(state life)" != "" ] && ! state life | grep -q s && fail "not shut down: state $(state life)"
xl destroy life 2>/dev/null
pass "xl shutdown"
run_appliance life httpd.xen '' "$net" 'ramdisk = "/rig/data/site.tar"'
xl destroy life || fail "xl destroy"
running life && fail "still listed after xl destroy"
pass "xl destroy"
