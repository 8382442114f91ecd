#!/usr/bin/env bash
# bench/xen/run.sh [BUILD_DIR]: the Xen rig's benchmark (issue 15), informational
# and absolute: QEMU TCG is an emulator, so every figure is the emulated
# machine's, and none is comparable with the hosted platform's. One boot of the
# rig (tests/xen), two parts:
#   bench-boot   seconds from the start of `xl create` to main(): hello.xen
#                against the rig's Linux PVH control (its /init's first line),
#                alternating, BENCH_ROUNDS (default 5) each, BENCH_SETTLE
#                (default 10) seconds of quiet before each create
#   bench-httpd  httpd.xen served to dom0 over netback, wrk in dom0
#                (BENCH_SECONDS, default 10, per run)
# Prints markdown tables (medians, min-max) on stdout, the rig's TAP on stderr,
# and the machine's load before and after.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
command -v wrk >/dev/null || { echo "bench/xen/run.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
for img in apps/hello/hello.xen apps/httpd/httpd.xen; do
  [[ -f $build/$img ]] || { echo "bench/xen/run.sh: $build/$img not built" >&2; exit 1; }
done
out=$(mktemp)
trap 'rm -f "$out"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$SECONDS
BENCH_ROUNDS=${BENCH_ROUNDS:-5} BENCH_SECONDS=${BENCH_SECONDS:-10} BENCH_SETTLE=${BENCH_SETTLE:-10} \
python3 "$here/../../tests/xen/rig.py" --checks bench-boot,bench-httpd --log "$build/xen-bench-serial.log" \
  --image hello.xen="$build/apps/hello/hello.xen" --image httpd.xen="$build/apps/httpd/httpd.xen" \
  --tool "$(command -v wrk)" | tee "$out" >&2 || true
grep -q '^BENCH' "$out" || { echo "bench/xen/run.sh: no figures (see above)" >&2; exit 1; }
python3 - "$out" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" "$((SECONDS - t0))" <<'PY'
import re, statistics, sys
out, load0, load1, secs = sys.argv[1:]
text = open(out).read()
boot = {}
for m in re.finditer(r"^BENCH (\S+) round=\d+ create_returned=([\d.]+) main=([\d.]+)", text, re.M):
    boot.setdefault(m.group(1), []).append((float(m.group(2)), float(m.group(3))))
def cell(v):
    return f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})"
print(f"Xen 4.17 under QEMU TCG, one boot of the rig, {secs} s; load average {load0} before, {load1} after.\n")
print("| guest (PVH, 1 vCPU) | runs | `xl create` returns (s) | `xl create` -> main() (s) |")
print("|---|---|---|---|")
for name, v in boot.items():
    print(f"| {name} | {len(v)} | {cell([x for x, _ in v])} | {cell([y for _, y in v])} |")
if "linux-pvh" in boot and "hello" in boot:
    ratio = statistics.median(y for _, y in boot["linux-pvh"]) / statistics.median(y for _, y in boot["hello"])
    print(f"\nhello reaches main() {ratio:.1f}x sooner than the Linux control reaches its /init (medians).")
rows = re.findall(r"^BENCH-HTTPD (\S+) rps=(\S+) latency_avg=(\S+) transfer=(\S+) errors=(.*)$", text, re.M)
if rows:
    print("\n| httpd.xen over netback, wrk in dom0 | requests/s | mean latency | transfer/s | errors |")
    print("|---|---|---|---|---|")
    for label, rps, lat, tr, err in rows:
        print(f"| {label} | {rps} | {lat} | {tr} | {err.strip()} |")
if re.search(r"^not ok", text, re.M):
    print("\n(some rig checks failed: see the TAP output)")
    sys.exit(1)
PY
