# httpd over netback: a static address from the vif's ip= (backend key "ip",
# "ADDRESS NETMASK GATEWAY"), ping from dom0, then curl: a page and a 1 MiB file
# from its archive (the PVH module, xl's ramdisk=), compared byte for byte.
. /rig/lib.sh
need_image httpd.xen
run_appliance httpd httpd.xen '' 'ramdisk = "/rig/data/site.tar"' \
  "vif = [ 'bridge=xenbr0,mac=00:16:3e:00:00:10,ip=192.0.2.10 255.255.255.0 192.0.2.1' ]"
i=0; until ping -c 1 -W 2 192.0.2.10 >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -gt $((30 * PATIENCE)) ] && { show_console httpd; fail "no ping reply from 192.0.2.10"; }
done
pass "ping 192.0.2.10"
curl -sS -m $((30 * PATIENCE)) -o /tmp/index.html http://192.0.2.10/index.html || { show_console httpd; fail "curl /index.html"; }
cmp /tmp/index.html /rig/data/site/index.html || fail "index.html differs"
pass "GET /index.html byte for byte"
t0=$(now)
curl -sS -m $((60 * PATIENCE)) -o /tmp/big.bin http://192.0.2.10/big.bin || { show_console httpd; fail "curl /big.bin"; }
cmp /tmp/big.bin /rig/data/site/big.bin || fail "big.bin differs"
pass "GET /big.bin (1 MiB) byte for byte in $(since "$t0") s"
xl destroy httpd
