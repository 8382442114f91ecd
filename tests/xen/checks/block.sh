# blkfront against Linux blkback on a phy: loop device, with the hosted block
# tests' images and patterns: the guest's pattern read in dom0 (rw), dom0's
# pattern read by the guest (ro), and discard on blk_multi.
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
[ -f /rig/images/blk_multi.xen ] || skip "blk_multi.xen not built: discard not checked"
dd if=/dev/urandom of=/tmp/disc.img bs=1M count=16 2>/dev/null; cp /tmp/disc.img /tmp/disc.before
dev=$(losetup -f) && losetup "$dev" /tmp/disc.img || fail losetup
run_appliance blkdisc blk_multi.xen 'discard' "disk = [ 'phy:$dev,xvda,w' ]"
finish_appliance blkdisc 0
console_has blkdisc 'blk_multi: PASSED'
losetup -d "$dev"
# Sectors 2048..4095 discarded (read back as zeros from a loop file), the rest kept.
[ "$(dd if=/tmp/disc.img bs=512 skip=2048 count=2048 2>/dev/null | tr -d '\000' | wc -c)" -eq 0 ] ||
  fail "the discarded range does not read as zeros"
head1m() { dd if="$1" bs=512 count=2048 2>/dev/null | sha256sum; }
[ "$(head1m /tmp/disc.img)" = "$(head1m /tmp/disc.before)" ] || fail "data before the discarded range changed"
pass "discard accepted and took effect"
