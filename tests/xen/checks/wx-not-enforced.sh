# W^X on PVH (docs/architecture.md, "The two platforms", row "W^X"): not
# enforced, the image runs on one writable, executable identity map, so a write
# to its own code goes through; the hosted loader maps text read-execute and the
# same image crashes there (boot-wx-text-write). A failure here means PVH now
# enforces W^X: change the table, and this check to expect the fault.
. /rig/lib.sh
run_appliance wx wx_text.xen ''
finish_appliance wx 0
console_has wx '^wrote to text!'
pass "the write to text went through (W^X not enforced on PVH)"
