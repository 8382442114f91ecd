# Informational (bench/xen/run.sh): httpd (httpd.xen, its archive as the PVH
# module) served to dom0 over Linux netback, measured with wrk run in dom0
# (rig.py --tool /usr/bin/wrk; the port is explicit: dom0 has no
# /etc/services for wrk's getaddrinfo): index.html (962 B) on keep-alive connections,
# the same with a new connection per request, and the 1 MiB file. Dom0, wrk,
# netback, the bridge and the guest share one emulated CPU under QEMU TCG:
# these are the rig's numbers, not a server's.
. /rig/lib.sh
need_image httpd.xen
[ -x /rig/tools/wrk ] || skip "no wrk in dom0 (bench/xen/run.sh passes rig.py --tool /usr/bin/wrk)"
secs=${BENCH_SECONDS:-10}
run_appliance bhttpd httpd.xen '' 'ramdisk = "/rig/data/site.tar"' \
  "vif = [ 'bridge=xenbr0,mac=00:16:3e:00:00:20,ip=192.0.2.20 255.255.255.0 192.0.2.1' ]" >/dev/null
wait_console bhttpd 'httpd: serving' 60 || { show_console bhttpd; fail "no 'httpd: serving'"; }
i=0; until curl -sf -m 10 -o /tmp/bench-index.html http://192.0.2.20/index.html; do
  i=$((i + 1)); [ $i -gt $((30 * PATIENCE)) ] && { show_console bhttpd; fail "httpd does not answer"; }; sleep 1
done
cmp /tmp/bench-index.html /rig/data/site/index.html || fail "index.html differs"
# wrk's summary: "Requests/sec: N", "Transfer/sec: N", and the latency line.
run_wrk() {  # LABEL WRK-ARGS...
  local label=$1; shift
  /rig/tools/wrk "$@" >/tmp/wrk.out 2>&1 || { cat /tmp/wrk.out; fail "wrk $label"; }
  sed 's/^/  wrk> /' /tmp/wrk.out
  local rps lat errs
  rps=$(awk '/^Requests\/sec:/ {print $2}' /tmp/wrk.out)
  lat=$(awk '$1 == "Latency" {print $2; exit}' /tmp/wrk.out)
  errs=$(awk '/Non-2xx|Socket errors/ {print}' /tmp/wrk.out | tr '\n' ' ')
  [ -n "$rps" ] || fail "wrk $label: no Requests/sec"
  echo "ok: BENCH-HTTPD $label rps=$rps latency_avg=$lat transfer=$(awk '/^Transfer\/sec:/ {print $2}' /tmp/wrk.out) errors=${errs:-none}"
}
run_wrk keepalive-c4 -t1 -c4 -d"${secs}s" http://192.0.2.20:80/index.html
run_wrk close-c4 -t1 -c4 -d"${secs}s" -H 'Connection: close' http://192.0.2.20:80/index.html
run_wrk big-1MiB-c1 -t1 -c1 -d"${secs}s" http://192.0.2.20:80/big.bin
xl destroy bhttpd
