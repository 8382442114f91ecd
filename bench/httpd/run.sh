#!/usr/bin/env bash
# httpd appliance vs Debian's nginx, same machine, same run, same client (wrk,
# keep-alive). Paths: nginx over loopback; the appliance over a TAP device (the
# fastest path we offer) when this host allows one (root, /dev/net/tun,
# network namespaces: the script then runs inside its own namespace), and
# always through the default path (-p, user networking) and through
# backend=slirp (libslirp carrying the forwarded connections, as before
# session 6); httpd-native (the same code as a Linux process) for reference.
#
#   bench/httpd/run.sh [BUILD_DIR] [SECONDS]
# Prints a table: req/s and p99 latency for a small file and a 1 MiB file, then
# new connections per second (ab, HTTP/1.0, one connection per request) against
# nginx and each appliance path.
set -euo pipefail
build=$(realpath "${1:-build}")
secs=${2:-5}
cd "$(dirname "$0")/../.."
if [[ -z ${ATOLL_IN_NETNS:-} && $(id -u) == 0 && -c /dev/net/tun ]] && unshare --net true 2>/dev/null; then
  exec env ATOLL_IN_NETNS=1 unshare --net "$0" "$build" "$secs"
fi
declare -A pkg=([wrk]=wrk [nginx]=nginx-light [curl]=curl [ab]=apache2-utils)
for tool in wrk nginx curl ab; do
  command -v $tool >/dev/null || { echo "bench/httpd: installing ${pkg[$tool]}"; apt-get install -y -qq "${pkg[$tool]}" >/dev/null; }
done
tmp=$(mktemp -d)
chmod 755 "$tmp"   # nginx workers run as www-data
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

mkdir -p "$tmp/root"
head -c 612 /dev/zero | tr '\0' 'a' >"$tmp/root/small.html"   # nginx's default page size
head -c $((1 << 20)) /dev/urandom >"$tmp/root/big.bin"
tar --format=ustar -cf "$tmp/site.tar" -C "$tmp/root" .

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "bench/httpd: $1 never answered" >&2; cat "$tmp"/*.log "$tmp"/nginx.err >&2; exit 1; }

p_nginx=$(free_port)
cat >"$tmp/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$p_nginx; root $tmp/root; }
}
CONF
nginx -c "$tmp/nginx.conf" & pids+=($!)

if [[ -n ${ATOLL_IN_NETNS:-} ]]; then
  ip link set lo up
  ip tuntap add atlh0 mode tap; ip addr add 10.4.0.1/24 dev atlh0; ip link set atlh0 up
  path=TAP; app=10.4.0.2:80; net=(--net tap=atlh0,ip=10.4.0.2/24)
else
  p_app=$(free_port); path="-p, user"; app=127.0.0.1:$p_app; net=(-p "$p_app:80")
fi
"$build/hypervisor/atoll" run "$build/apps/httpd/httpd" -m 64M --disk "$tmp/site.tar,ro" \
  "${net[@]}" -- --root / --quiet >"$tmp/app.log" 2>&1 & pids+=($!)

# The default path (user networking, -p) beside the TAP, and the same with
# libslirp carrying the forwarded connections too (backend=slirp, the path
# before session 6) to show what the hypervisor's own TCP forwards changed.
p_user=$(free_port)
"$build/hypervisor/atoll" run "$build/apps/httpd/httpd" -m 64M --disk "$tmp/site.tar,ro" \
  -p "$p_user:80" -- --root / --quiet >"$tmp/app-user.log" 2>&1 & pids+=($!)
p_slirp=$(free_port)
"$build/hypervisor/atoll" run "$build/apps/httpd/httpd" -m 64M --disk "$tmp/site.tar,ro" \
  --net "user,backend=slirp,hostfwd=tcp:127.0.0.1:$p_slirp-:80" -- --root / --quiet >"$tmp/app-slirp.log" 2>&1 & pids+=($!)

p_native=$(free_port)
"$build/apps/httpd/httpd-native" --port "$p_native" --addr 127.0.0.1 --root "$tmp/root" --quiet >/dev/null 2>&1 & pids+=($!)

wait_http "http://127.0.0.1:$p_nginx/small.html"
wait_http "http://$app/small.html"
wait_http "http://127.0.0.1:$p_native/small.html"
wait_http "http://127.0.0.1:$p_user/small.html"
wait_http "http://127.0.0.1:$p_slirp/small.html"

# One wrk run: "req/s p99_ms".
measure() {
  wrk -t2 -c32 -d"${secs}s" --latency "$1" 2>/dev/null | awk '
    /Requests\/sec/ { rps = $2 }
    /^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }; p99 = v }
    END { printf "%.0f %.2f\n", rps, p99 }'
}

printf '%-10s %-22s %12s %10s %8s\n' file server req/s p99_ms ratio
targets=("atoll httpd ($path)|$app")
[[ $path == TAP ]] && targets+=("atoll httpd (-p, user)|127.0.0.1:$p_user")
targets+=("atoll (backend=slirp)|127.0.0.1:$p_slirp" "httpd-native|127.0.0.1:$p_native")
for f in small.html big.bin; do
  read -r n_rps n_p99 < <(measure "http://127.0.0.1:$p_nginx/$f")
  printf '%-10s %-22s %12s %10s %8s\n' "$f" "nginx (loopback)" "$n_rps" "$n_p99" "1.00"
  for target in "${targets[@]}"; do
    read -r a_rps a_p99 < <(measure "http://${target#*|}/$f")
    printf '%-10s %-22s %12s %10s %8.2f\n' "$f" "${target%%|*}" "$a_rps" "$a_p99" "$(echo "$a_rps / $n_rps" | bc -l)"
  done
done
echo "image: $(stat -c %s "$build/apps/httpd/httpd") bytes sealed, ELF $(stat -c %s "$build/apps/httpd/httpd.elf") unstripped, $(strip -o "$tmp/stripped" "$build/apps/httpd/httpd.elf" && stat -c %s "$tmp/stripped") stripped"

# New connections per second: ab without keep-alive, "conn/s failed".
conns=${ATOLL_BENCH_CONNS:-20000}
conn_rate() {
  ab -q -n "$conns" -c 50 "$1" 2>&1 | awk '
    /Requests per second/ { rps = $4 } /Failed requests/ { failed = $3 }
    END { printf "%.0f %s\n", rps, failed == "" ? "?" : failed }'
}
echo
printf '%-32s %12s %8s %8s\n' "new connections (ab -c 50)" conn/s failed ratio
read -r n_cps n_fail < <(conn_rate "http://127.0.0.1:$p_nginx/small.html")
printf '%-32s %12s %8s %8s\n' "nginx (loopback)" "$n_cps" "$n_fail" "1.00"
for target in "${targets[@]}"; do
  [[ $target == httpd-native* ]] && continue
  read -r a_cps a_fail < <(conn_rate "http://${target#*|}/small.html")
  printf '%-32s %12s %8s %8.2f\n' "${target%%|*}" "$a_cps" "$a_fail" "$(echo "$a_cps / $n_cps" | bc -l)"
done
