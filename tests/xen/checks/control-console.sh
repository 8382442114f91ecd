# The Linux control as a PVH domU prints through xenconsoled.
. /rig/lib.sh
xl destroy ctl 2>/dev/null
ensure_control ctl
echo "first console line $(since "$CREATE_T0") s after xl create"
grep -q '^CONTROL-UP .*type=PVH' "$(console_log ctl)" || { show_console ctl; fail "guest_type is not PVH"; }
pass "marker through xenconsoled, guest_type PVH"
