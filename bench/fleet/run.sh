#!/usr/bin/env bash
# bench/fleet/run.sh [BUILD_DIR] [SAMPLES] [DENSITY]: the fleet benchmarks on
# one `atoll daemon` (create latency with 1, 100 and 1,000 domains running,
# end to end, the creation rate of a burst, density), each beside its native
# peer in the same run; prints a markdown table and notes (fleet_bench.py says
# what each figure is). SAMPLES per figure (30), DENSITY idle domains (10000).
set -euo pipefail
build=${1:-build}
[[ -d $build ]] || { echo "bench/fleet/run.sh: no build directory '$build'" >&2; exit 1; }
for tool in hyperfine python3 xenstore-ls xenstore-read; do
  command -v "$tool" >/dev/null || { echo "bench/fleet/run.sh: '$tool' is not installed" >&2; exit 1; }
done
exec </dev/null
exec python3 "$(dirname "$0")/fleet_bench.py" "$build" "${2:-30}" "${3:-10000}"
