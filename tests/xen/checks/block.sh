# blkfront against Linux blkback on a phy: loop device, with the hosted block
# tests' image and pattern: the guest's pattern read in dom0 (rw, flushed),
# dom0's pattern read by the guest (ro).
. /rig/lib.sh
need_image blk_disk.xen
dd if=/dev/zero of=/tmp/blk.img bs=1M count=16 2>/dev/null
dev=$(losetup -f) && losetup "$dev" /tmp/blk.img || fail losetup
run_appliance blkrw blk_disk.xen 'rw' "disk = [ 'phy:$dev,xvda,w' ]"
finish_appliance blkrw 0
console_has blkrw 'blk_disk: PASSED'
blockdev --flushbufs "$dev"; echo 3 >/proc/sys/vm/drop_caches
[ "$(sha256sum <"$dev" | cut -d' ' -f1)" = "$(cat /rig/data/blk-pattern.sha256)" ] || fail "dom0 does not read the guest's pattern"
losetup -d "$dev"
pass "the guest's pattern (written, flushed) read in dom0"
dev=$(losetup -f) && losetup -r "$dev" /rig/data/blk-pattern.bin || fail losetup
run_appliance blkro blk_disk.xen 'ro' "disk = [ 'phy:$dev,xvda,r' ]"
finish_appliance blkro 0
console_has blkro 'blk_disk: PASSED'
losetup -d "$dev"
pass "dom0's pattern read by the guest; its write refused"
