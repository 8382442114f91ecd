# The hosted boot test grants (the same source) on real Xen. With
# --map-grant=ok it also maps its own grant with GNTTABOP_map_grant_ref, which
# Xen allows and the hosted hypervisor refuses (the boot test `grants` runs it
# with --map-grant=refused; docs/architecture.md, row "Grant maps").
. /rig/lib.sh
run_appliance grants grants.xen '--map-grant=ok'
finish_appliance grants 0
console_has grants 'grants: PASSED' '^ok: mapping a grant at .* works on this platform' '^ok: the mapped page holds the granted page'
pass "grants: PASSED, a grant mapped and unmapped"
