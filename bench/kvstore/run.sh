#!/usr/bin/env bash
# kvstore appliance vs Debian's redis-server, same client (redis-benchmark),
# same run: persistence off on both, then appendfsync everysec on both; GET and
# SET with and without -P 16. redis-server is on loopback; the appliance is
# reached over a TAP device (the fastest path we offer) when this host allows
# one (root, /dev/net/tun, network namespaces: the script then runs inside its
# own namespace), else through user-mode networking (slirp hostfwd). With a
# TAP, a second appliance on the default path (-p, user networking) is
# measured beside it: the atoll/-p rows.
#
#   bench/kvstore/run.sh [BUILD_DIR] [REQUESTS]
#
# ROWS selects rows as persistence:pipeline pairs, e.g.
# ROWS=everysec:16 bench/kvstore/run.sh build 50000 (default: all four).
# KEEP_LOGS=1 copies the appliances' consoles to /tmp at the end.
set -euo pipefail
build=$(realpath "${1:-build}")
n=${2:-100000}
rows=${ROWS:-off:1 off:16 everysec:1 everysec:16}
cd "$(dirname "$0")/../.."
command -v redis-server >/dev/null || { echo "bench/kvstore: installing redis-server"; apt-get install -y -qq redis-server >/dev/null; }
command -v redis-benchmark >/dev/null || apt-get install -y -qq redis-tools >/dev/null

if [[ -z ${ATOLL_IN_NETNS:-} && $(id -u) == 0 && -c /dev/net/tun ]] && unshare --net true 2>/dev/null; then
  exec env ATOLL_IN_NETNS=1 unshare --net "$0" "$build" "$n"
fi
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [[ -n ${KEEP_LOGS:-} ]] && cp "$tmp"/*.log /tmp/ 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

if [[ -n ${ATOLL_IN_NETNS:-} ]]; then
  ip link set lo up
  ip tuntap add atlk0 mode tap; ip addr add 10.3.0.1/24 dev atlk0; ip link set atlk0 up
  path="TAP"; app_host=10.3.0.2; app_port=6379; net=(--net tap=atlk0,ip=10.3.0.2/24)
else
  path="slirp"; app_host=127.0.0.1; app_port=16379; net=(-p "$app_port:6379")
fi

bench() {  # host port pipeline -> "get_rps set_rps"
  redis-benchmark -h "$1" -p "$2" -n "$n" -c 50 -P "$3" -t set,get -q 2>/dev/null | tr '\r' '\n' |
    awk '/SET: [0-9.]+ requests per second/ { sub(/.*SET: /, ""); s = $1 }
         /GET: [0-9.]+ requests per second/ { sub(/.*GET: /, ""); g = $1 }
         END { printf "%s %s\n", g, s }'
}
wait_port() { for _ in $(seq 200); do redis-cli -h "$1" -p "$2" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "bench/kvstore: $1:$2 never answered" >&2; exit 1; }

printf '%-22s %-7s %-8s %12s %12s %8s %8s\n' persistence pipe server GET/s SET/s GET SET
for mode in off everysec; do
  [[ " $rows " == *" $mode:"* ]] || continue
  if [[ $mode == off ]]; then redis_args=(--save '' --appendonly no); kv_args=(--aof off)
  else redis_args=(--save '' --appendonly yes --appendfsync everysec --dir "$tmp"); kv_args=(--appendfsync everysec); fi
  redis-server --port 6400 --bind 127.0.0.1 "${redis_args[@]}" >/dev/null & pids+=($!)
  truncate -s 256M "$tmp/kv.img"
  "$build/hypervisor/atoll" run "$build/apps/kvstore/kvstore" -m 128M --disk "$tmp/kv.img" "${net[@]}" \
    -- --quiet "${kv_args[@]}" >"$tmp/app.log" 2>&1 & pids+=($!)
  # The default path beside it, every run: user networking and -p.
  if [[ $path == TAP ]]; then
    truncate -s 256M "$tmp/kv2.img"
    "$build/hypervisor/atoll" run "$build/apps/kvstore/kvstore" -m 128M --disk "$tmp/kv2.img" -p 16379:6379 \
      -- --quiet "${kv_args[@]}" >"$tmp/app2.log" 2>&1 & pids+=($!)
    wait_port 127.0.0.1 16379
  fi
  wait_port 127.0.0.1 6400
  wait_port "$app_host" "$app_port"
  for p in 1 16; do
    [[ " $rows " == *" $mode:$p "* ]] || continue
    read -r rg rs < <(bench 127.0.0.1 6400 $p)
    read -r ag as < <(bench "$app_host" "$app_port" $p)
    printf '%-22s %-7s %-8s %12s %12s %8s %8s\n' "$mode" "$p" redis "$rg" "$rs" 1.00 1.00
    printf '%-22s %-7s %-8s %12s %12s %8.2f %8.2f\n' "$mode" "$p" "atoll/$path" "$ag" "$as" \
      "$(echo "$ag / $rg" | bc -l)" "$(echo "$as / $rs" | bc -l)"
    if [[ $path == TAP ]]; then
      read -r dg ds < <(bench 127.0.0.1 16379 $p)
      printf '%-22s %-7s %-8s %12s %12s %8.2f %8.2f\n' "$mode" "$p" "atoll/-p" "$dg" "$ds" \
        "$(echo "$dg / $rg" | bc -l)" "$(echo "$ds / $rs" | bc -l)"
    fi
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=()
  rm -f "$tmp/kv.img" "$tmp/kv2.img" "$tmp"/appendonly* 2>/dev/null || true
done
