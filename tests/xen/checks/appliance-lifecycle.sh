# Lifecycle of one of our appliances: xl console, xl reboot, xl shutdown, xl destroy.
. /rig/lib.sh
need_image httpd.xen
net="vif = [ 'bridge=xenbr0,mac=00:16:3e:00:00:12,ip=192.0.2.12 255.255.255.0 192.0.2.1' ]"
run_appliance life httpd.xen '' "$net" 'ramdisk = "/rig/data/site.tar"'
wait_console life 'httpd: serving' 60 || { show_console life; fail "no 'httpd: serving'"; }
out=$(timeout 5 xl console life </dev/null 2>&1)
echo "$out" | grep -q 'httpd: serving' || fail "xl console did not show the appliance's output"
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
