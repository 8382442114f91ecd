# The control with a vif on xenbr0 (netback) and a phy: loop disk (blkback):
# ping both ways, the disk's first bytes seen by the guest, the guest's write seen
# by dom0; then `xl destroy` and the backends are gone.
. /rig/lib.sh
xl destroy ctlnb 2>/dev/null
dev=$(make_disk /tmp/ctlnb.img 16) || fail "losetup"
control_initrd
xl_create ctlnb "$(control_config)" "extra = \"$CONTROL_EXTRA ctl.net\"" \
  "vif = [ 'bridge=xenbr0,mac=00:16:3e:00:00:02' ]" "disk = [ 'phy:$dev,xvda,w' ]"
wait_console ctlnb '^CONTROL-XVDA-WRITTEN|^CONTROL-XVDA head' 120 || { show_console ctlnb; fail "no disk report"; }
wait_console ctlnb '^CONTROL-XVDA-WRITTEN' 20
show_console ctlnb 8
log=$(console_log ctlnb)
grep -q '^CONTROL-ETH0 mac=00:16:3e:00:00:02' "$log" || fail "eth0 with the configured MAC"
grep -q '^CONTROL-PING-DOM0 ok' "$log" || fail "the guest could not ping dom0"
ping -c 2 -W 5 192.0.2.2 >/dev/null || fail "dom0 cannot ping the guest"
pass "ping both ways over netback"
grep -q '^CONTROL-XVDA head=XENDISK-HELLO-FROM-DOM0' "$log" || fail "the guest did not read dom0's bytes"
pass "the guest read dom0's first sector"
grep -q '^CONTROL-XVDA-WRITTEN' "$log" || fail "the guest did not report its write"
# blkback writes under the page cache of dom0's view of the loop device: drop it.
blockdev --flushbufs "$dev"; echo 3 >/proc/sys/vm/drop_caches
got=$(dd if="$dev" bs=4096 skip=256 count=1 2>/dev/null | head -c 19)
[ "$got" = "CONTROL-WROTE-THIS" ] || fail "dom0 read '$got' where the guest wrote"
pass "dom0 read the guest's pattern"
id=$(domid ctlnb)
xl destroy ctlnb || fail "xl destroy"
running ctlnb && fail "ctlnb still listed after xl destroy"
sleep 1
xenstore-exists /local/domain/0/backend/vif/"$id" && fail "vif backend of domain $id left in xenstore"
xenstore-exists /local/domain/0/backend/vbd/"$id" && fail "vbd backend of domain $id left in xenstore"
losetup -d "$dev"
pass "destroyed; backends removed"
