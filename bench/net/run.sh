#!/usr/bin/env bash
# Networking: the echo appliance through user-mode networking (-p forwards):
# the default (the hypervisor's own TCP forwards in front of libslirp),
# backend=slirp (libslirp for everything, the default before session 6) and
# backend=passt, against the same echo server as a Linux process on loopback
# (the ceiling), same client (netbench), same run. TAP is measured too when
# this host lets us create a TAP device (root with /dev/net/tun); otherwise its
# row says why not.
#
#   bench/net/run.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
nb="$build/bench/net/netbench"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

p_native=$(free_port)
"$build/bench/net/echo-native" "$p_native" >/dev/null & pids+=($!)
# User-mode networking: the default, libslirp alone and passt, each its own
# appliance on its own port.
declare -A port
declare -A spec=([default]=user [slirp]=user,backend=slirp [passt]=user,backend=passt)
for be in default slirp passt; do
  port[$be]=$(free_port)
  "$build/hypervisor/atoll" run "$build/apps/echo/echo" --net "${spec[$be]}" -p "${port[$be]}:7" \
    -p "${port[$be]}:7/udp" >/dev/null 2>&1 & pids+=($!)
done
# Ready when a byte comes back: the forwarder accepts before the guest listens.
echoes() { python3 -c 'import socket,sys
try:
  s=socket.create_connection(("127.0.0.1",int(sys.argv[1])),1); s.settimeout(1); s.sendall(b"x"); sys.exit(s.recv(1)!=b"x")
except OSError: sys.exit(1)' "$1"; }
for _ in $(seq 100); do
  echoes "${port[default]}" && echoes "${port[passt]}" && echoes "${port[slirp]}" && echoes "$p_native" && break
  sleep 0.1
done

row() {  # name metric native appliance better(lower|higher)
  local ratio
  ratio=$(echo "$4 / $3" | bc -l)
  printf '%-34s %14s %14s %8.2f\n' "$1" "$3" "$4" "$ratio"
}
read -r _ n50 n99 < <("$nb" rr 127.0.0.1 "$p_native" 5000)
read -r _ nb_mbps < <("$nb" bulk 127.0.0.1 "$p_native" 256)
read -r _ nu _ < <("$nb" udp 127.0.0.1 "$p_native" 50000)
for be in default slirp passt; do
  p_app=${port[$be]}
  printf '%-34s %14s %14s %8s\n' measure "native loopback" "atoll ($be)" ratio
  read -r _ a50 a99 < <("$nb" rr 127.0.0.1 "$p_app" 5000)
  row "TCP 1-byte RR median (us)" x "$n50" "$a50"
  row "TCP 1-byte RR p99 (us)" x "$n99" "$a99"
  read -r _ ab_mbps < <("$nb" bulk 127.0.0.1 "$p_app" 64)
  row "TCP bulk, both ways at once (MB/s)" x "$nb_mbps" "$ab_mbps"
  read -r _ au lost < <("$nb" udp 127.0.0.1 "$p_app" 50000)
  row "UDP 64-byte echo (packets/s)" x "$nu" "$au"
  echo "(udp: $lost of 50000 datagrams lost through $be)"
done
# TAP, when this host allows it: a network namespace with a TAP device, the
# echo appliance on it, the same client.
if [[ $(id -u) == 0 && -c /dev/net/tun ]] && unshare --net ip tuntap add probe0 mode tap 2>/dev/null; then
  unshare --net bash -c '
    set -e
    ip link set lo up; ip tuntap add atlb0 mode tap; ip addr add 10.2.0.1/24 dev atlb0; ip link set atlb0 up
    "$1/hypervisor/atoll" run "$1/apps/echo/echo" --net tap=atlb0,ip=10.2.0.2/24 >/dev/null 2>&1 & app=$!
    for _ in $(seq 100); do nc -z 10.2.0.2 7 2>/dev/null && break; sleep 0.1; done
    read -r _ t50 t99 < <("$2" rr 10.2.0.2 7 5000)
    read -r _ tb < <("$2" bulk 10.2.0.2 7 128)
    read -r _ tu _ < <("$2" udp 10.2.0.2 7 50000)
    kill $app; wait $app || true
    # The same appliance with the hypervisor sleeping at once (no busy-poll).
    "$1/hypervisor/atoll" run "$1/apps/echo/echo" --busy-poll 0 --net tap=atlb0,ip=10.2.0.2/24 >/dev/null 2>&1 & app=$!
    for _ in $(seq 100); do nc -z 10.2.0.2 7 2>/dev/null && break; sleep 0.1; done
    read -r _ p50 p99 < <("$2" rr 10.2.0.2 7 5000)
    echo "tap $t50 $t99 $tb $tu $p50 $p99"
    kill $app' _ "$build" "$nb" >"${TMPDIR:-/tmp}/atoll-tap-bench.$$" 2>/dev/null
  read -r _ t50 t99 tb tu p50 p99 <"${TMPDIR:-/tmp}/atoll-tap-bench.$$"; rm -f "${TMPDIR:-/tmp}/atoll-tap-bench.$$"
  printf '%-34s %14s %14s %8s\n' measure "native loopback" "atoll (TAP)" ratio
  row "TCP 1-byte RR median (us)" x "$n50" "$t50"
  row "TCP 1-byte RR p99 (us)" x "$n99" "$t99"
  row "TCP bulk, both ways at once (MB/s)" x "$nb_mbps" "$tb"
  row "UDP 64-byte echo (packets/s)" x "$nu" "$tu"
  row "RR median, --busy-poll 0 (us)" x "$n50" "$p50"
  row "RR p99, --busy-poll 0 (us)" x "$n99" "$p99"
else
  echo "TAP: not measured (needs root, /dev/net/tun and network namespaces)"
fi
