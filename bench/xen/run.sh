#!/usr/bin/env bash
# bench/xen/run.sh [BUILD_DIR]: informational, absolute numbers (QEMU TCG is an
# emulator): seconds from `xl create` to the first console line of a Linux PVH
# domU and, once the PVH platform builds it, of hello (its main()'s first
# printf), in one boot of the Xen rig (tests/xen). BENCH_ROUNDS (default 3).
# Prints a markdown table of medians on stdout; the rig's TAP output on stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
python3 "$here/../../tests/xen/rig.py" --checks bench-boot --log "$build/xen-bench-serial.log" \
  --image hello.xen="$build/apps/hello/hello.xen" | tee "$out" >&2
grep -q '^BENCH ' "$out" || { echo "bench/xen/run.sh: no timings (see above)" >&2; exit 1; }
python3 - "$out" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"BENCH (\S+) round=\d+ create_returned=([\d.]+) first_line=([\d.]+)", line)
    if m:
        rows.setdefault(m.group(1), []).append((float(m.group(2)), float(m.group(3))))
print("| guest (Xen 4.17 under QEMU TCG) | runs | `xl create` returns (s) | first console line (s) |")
print("|---|---|---|---|")
for name, v in rows.items():
    print(f"| {name} | {len(v)} | {statistics.median(x for x, _ in v):.2f} | {statistics.median(y for _, y in v):.2f} |")
PY
