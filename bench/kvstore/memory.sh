#!/usr/bin/env bash
# Memory per key, kvstore vs Debian's redis-server, same load: KEYS SETs of a
# 16-byte value ("key:%012d" keys, 16 bytes too) through redis-cli --pipe,
# persistence off on both; reports (used_memory after - before) / DBSIZE for
# each and the ratio. kvstore runs natively (the same key space code as the
# appliance, glibc's malloc under the same counting operator new).
#
#   bench/kvstore/memory.sh [BUILD_DIR] [KEYS]
set -euo pipefail
build=$(realpath "${1:-build}")
keys=${2:-1000000}
command -v redis-server >/dev/null || { echo "bench/kvstore: installing redis-server"; apt-get install -y -qq redis-server >/dev/null; }
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

python3 - "$keys" >"$tmp/load.resp" <<'PY'
import sys
out = sys.stdout.buffer
for i in range(int(sys.argv[1])):
    k, v = b"key:%012d" % i, b"val:%012d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$16\r\n%s\r\n$16\r\n%s\r\n" % (k, v))
PY
wait_port() { for _ in $(seq 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "bench/kvstore: port $1 never answered" >&2; exit 1; }
used() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'; }
per_key() {  # port -> bytes per key
  local before after n
  before=$(used "$1")
  redis-cli -p "$1" --pipe <"$tmp/load.resp" >/dev/null
  after=$(used "$1")
  n=$(redis-cli -p "$1" dbsize)
  echo "scale=1; ($after - $before) / $n" | bc -l
}

redis-server --port 6401 --bind 127.0.0.1 --save '' --appendonly no >/dev/null & pids+=($!)
"$build/apps/kvstore/kvstore-native" --addr 127.0.0.1 --port 6402 --aof off --quiet & pids+=($!)
wait_port 6401
wait_port 6402
r=$(per_key 6401)
k=$(per_key 6402)
printf '%-10s %10s %14s\n' server keys bytes/key
printf '%-10s %10s %14s\n' redis "$keys" "$r"
printf '%-10s %10s %14s   ratio %.2f\n' kvstore "$keys" "$k" "$(echo "$k / $r" | bc -l)"
