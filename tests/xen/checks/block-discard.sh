# Discard through blkfront and blkback: blk_multi's discard run on a loop
# device over a file of random bytes.
. /rig/lib.sh
need_image blk_multi.xen
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
