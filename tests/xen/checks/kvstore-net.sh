# kvstore over netback, answering redis-cli from dom0.
. /rig/lib.sh
need_image kvstore.xen
# No disk here: the append-only log is off (kvstore refuses to start without either).
run_appliance kvstore kvstore.xen '--aof off' \
  "vif = [ 'bridge=xenbr0,mac=00:16:3e:00:00:11,ip=192.0.2.11 255.255.255.0 192.0.2.1' ]"
# Debian 12's redis-cli (7.0) has no -t (connect timeout): timeout(1) bounds each
# try instead. Its answer is kept, so that a failure shows what redis-cli said.
i=0; until out=$(timeout $((5 * PATIENCE)) redis-cli -h 192.0.2.11 ping 2>&1) && [ "$out" = PONG ]; do
  i=$((i + 1)); [ $i -gt $((30 * PATIENCE)) ] && { show_console kvstore; fail "no PONG from 192.0.2.11:6379 (redis-cli: $out)"; }
  state kvstore | grep -q -E 's|c' && { show_console kvstore; fail "kvstore stopped (state $(state kvstore))"; }
  sleep 1
done
redis-cli -h 192.0.2.11 set rig-key "from dom0" >/dev/null || fail "SET"
[ "$(redis-cli -h 192.0.2.11 get rig-key)" = "from dom0" ] || fail "GET returned something else"
[ "$(redis-cli -h 192.0.2.11 incrby rig-n 42)" = 42 ] || fail "INCRBY"
pass "PING, SET/GET, INCRBY through redis-cli"
xl destroy kvstore
