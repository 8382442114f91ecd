#!/usr/bin/env bash
# bench/run.sh [BUILD_DIR]: runs every benchmark, each Atoll path beside its
# native peer in the same run, and prints a markdown table of medians and ratios
# on stdout (progress and diagnostics go to stderr). BUILD_DIR defaults to
# `build`; build it first with `ninja -C BUILD_DIR`. See bench/RESULTS.md.
#
#   1. boot end to end: `atoll run hello` against posix_spawn + wait of a static
#      native hello (hyperfine -N, 5 warm-ups, 50 runs each);
#   2. domain creation -> guest main(), from `atoll run -v`, against posix_spawn ->
#      main() of a static native child (50 each, interleaved in rounds of 10);
#   3. event-channel round trip guest <-> hypervisor against a cross-process futex
#      ping-pong (20000 round trips a run; 3 runs each, unpinned and same-core);
#   4. the stripped hello image's size, and the least memory that boots it.
#   5. (own tables) grant copy, xenstore ops/s, and the fleet on one daemon
#      (bench/fleet/run.sh; FLEET_SAMPLES, FLEET_DENSITY), and sealed images'
#      verification cost and sizes (bench/image/run.sh).
#
# Every program runs with stdin from /dev/null: `atoll run` forwards its stdin to
# the guest's console, and the benchmarks measure no input.
set -euo pipefail

die() { echo "bench/run.sh: $*" >&2; exit 1; }
say() { echo "bench/run.sh: $*" >&2; }

build=${1:-build}
[[ -d $build ]] || die "no build directory '$build' (usage: bench/run.sh [BUILD_DIR])"
build=$(cd "$build" && pwd)

atoll=$build/hypervisor/atoll
loader=$build/hypervisor/atoll-loader
hello=$build/apps/hello/hello
evtchn_rtt=$build/bench/evtchn_rtt
native_hello=$build/bench/native-hello
spawn_child=$build/bench/spawn-child
spawn_to_main=$build/bench/spawn-to-main
futex_pingpong=$build/bench/futex-pingpong

for f in "$atoll" "$loader" "$hello" "$evtchn_rtt" "$native_hello" "$spawn_child" "$spawn_to_main" "$futex_pingpong"; do
  [[ -x $f ]] || die "missing $f; build it with: ninja -C $build"
done
for tool in hyperfine python3 strip taskset timeout; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed (apt-get install $tool)"
done
# hyperfine -N splits commands on whitespace.
[[ $build != *[[:space:]]* ]] || die "the build directory's path must not contain spaces"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
exec </dev/null

# median FILE: the median of the numbers in FILE, one a line.
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# ratio A B [DIGITS]: A / B.
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { printf "%.*f", d, a / b }'; }
# verdict VALUE GOAL: "met" when VALUE <= GOAL.
verdict() { awk -v v="$1" -v g="$2" 'BEGIN { print (v <= g) ? "met" : "**missed**" }'; }
# field NAME LINE: the value of NAME=value in LINE.
field() { sed -n "s/.*[[:space:]]$1=\([0-9.]*\).*/\1/p" <<<" $2"; }
# ms FILE: the median of FILE, to 3 decimals. us FILE: the median of FILE (ns) in us.
ms() { awk -v x="$(median "$1")" 'BEGIN { printf "%.3f", x }'; }
us() { awk -v x="$(median "$1")" 'BEGIN { printf "%.1f", x / 1000 }'; }

rows=()
notes=()

src=$(cd "$(dirname "$0")/.." && pwd)
revision=$(git -C "$src" describe --always --dirty 2>/dev/null || echo unknown)
say "source $revision; $(nproc) vCPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), kernel $(uname -r)"
notes+=("source revision $revision; $(nproc) vCPUs; kernel $(uname -r); load average at start $(cut -d' ' -f1-3 /proc/loadavg)")
if awk -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN { exit !(l > 1.0) }'; then
  say "warning: the machine is busy (load average above 1); expect noisy numbers"
fi

# --- 1. Boot end to end ------------------------------------------------------
say "1/4 boot end to end (hyperfine, 50 runs each)..."
hyperfine -N --warmup 5 --runs 50 --export-json "$tmp/boot.json" \
  "$atoll run $hello" "$native_hello" "$atoll version" >"$tmp/hyperfine.txt" 2>&1 \
  || { cat "$tmp/hyperfine.txt" >&2; die "hyperfine failed (does '$atoll run $hello' exit 0?)"; }
read -r boot_atoll boot_native boot_hv <<<"$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print(" ".join("%.3f" % (x["median"] * 1e3) for x in r))' "$tmp/boot.json")"
boot_ratio=$(ratio "$boot_atoll" "$boot_native")
rows+=("| boot end to end: \`atoll run hello\` vs posix_spawn+wait of static hello (median of 50) | $boot_atoll ms | $boot_native ms | ${boot_ratio}× | ≤ 2× | $(verdict "$boot_ratio" 2) |")
notes+=("boot: \`atoll version\` alone (start and exit of the hypervisor, no domain) takes $boot_hv ms median")

# --- 2. Domain creation -> main() --------------------------------------------
say "2/4 domain creation -> main() (5 rounds of 10 each, interleaved)..."
: >"$tmp/atoll_main.txt"
: >"$tmp/native_main.txt"
for round in 1 2 3 4 5; do
  for i in $(seq 10); do
    if ! timeout 20 "$atoll" run -v "$hello" >/dev/null 2>"$tmp/verbose.txt"; then
      cat "$tmp/verbose.txt" >&2
      die "'atoll run -v $hello' failed in round $round"
    fi
    sed -n 's/.*main() at \([0-9.]*\) ms after domain creation.*/\1/p' "$tmp/verbose.txt" >>"$tmp/atoll_main.txt"
  done
  timeout 60 "$spawn_to_main" "$spawn_child" 10 >"$tmp/spawn.txt" || die "spawn-to-main failed"
  sed -n 's/^main() at \([0-9.]*\) ms$/\1/p' "$tmp/spawn.txt" >>"$tmp/native_main.txt"
done
[[ $(wc -l <"$tmp/atoll_main.txt") -eq 50 ]] || die "'atoll run -v' did not report main() in every run"
[[ $(wc -l <"$tmp/native_main.txt") -eq 50 ]] || die "spawn-to-main did not report 50 runs"
main_atoll=$(ms "$tmp/atoll_main.txt")
main_native=$(ms "$tmp/native_main.txt")
main_ratio=$(ratio "$main_atoll" "$main_native")
rows+=("| domain creation → guest main() vs posix_spawn → main() of static child (median of 50) | $main_atoll ms | $main_native ms | ${main_ratio}× | ≤ 1.5× | $(verdict "$main_ratio" 1.5) |")

# --- 3. Event-channel round trip --------------------------------------------
# run_pair LABEL PREFIX...: three alternating runs of each side under PREFIX.
run_pair() {
  local label=$1
  shift
  : >"$tmp/evt_med.txt"; : >"$tmp/evt_mean.txt"; : >"$tmp/null_med.txt"
  : >"$tmp/futex_med.txt"; : >"$tmp/futex_mean.txt"
  local stalls=0 slow=0 backwards=0 max_back=0
  for run in 1 2 3; do
    timeout 120 "$@" "$atoll" run "$evtchn_rtt" >"$tmp/evt.txt" 2>&1 \
      || { cat "$tmp/evt.txt" >&2; die "the evtchn_rtt guest failed ($label, run $run)"; }
    local line null clock
    line=$(grep '^evtchn_rtt: iterations=' "$tmp/evt.txt") || die "no result from evtchn_rtt"
    null=$(grep '^null_hypercall: iterations=' "$tmp/evt.txt") || die "no null-hypercall result from evtchn_rtt"
    clock=$(grep '^pvclock_across_hypercall: ' "$tmp/evt.txt") || die "no pvclock check from evtchn_rtt"
    backwards=$((backwards + $(field backwards "$clock")))
    max_back=$(( $(field max_backward_ns "$clock") > max_back ? $(field max_backward_ns "$clock") : max_back ))
    field median_ns "$line" >>"$tmp/evt_med.txt"
    field mean_ns "$line" >>"$tmp/evt_mean.txt"
    field median_ns "$null" >>"$tmp/null_med.txt"
    stalls=$((stalls + $(field clock_stalls "$line")))
    slow=$((slow + $(field slow_path "$line")))
    timeout 120 "$@" "$futex_pingpong" 20000 >"$tmp/futex.txt" 2>&1 \
      || { cat "$tmp/futex.txt" >&2; die "futex-pingpong failed ($label, run $run)"; }
    line=$(grep '^futex_rtt: iterations=' "$tmp/futex.txt") || die "no result from futex-pingpong"
    field median_ns "$line" >>"$tmp/futex_med.txt"
    field mean_ns "$line" >>"$tmp/futex_mean.txt"
  done
  local evt futex e f r
  evt=$(awk '{ printf "%.1f ", $1 / 1000 }' "$tmp/evt_med.txt")
  futex=$(awk '{ printf "%.1f ", $1 / 1000 }' "$tmp/futex_med.txt")
  e=$(us "$tmp/evt_med.txt")
  f=$(us "$tmp/futex_med.txt")
  r=$(ratio "$e" "$f")
  rows+=("| event-channel round trip, $label (median of 3 run medians, 20000 each) | $e µs | $f µs | ${r}× | ≤ 1.5× | $(verdict "$r" 1.5) |")
  local note="evtchn $label: per-run medians guest ${evt% }µs, futex ${futex% }µs"
  note+="; means guest $(us "$tmp/evt_mean.txt") µs, futex $(us "$tmp/futex_mean.txt") µs"
  note+="; null hypercall (XENVER_version) $(us "$tmp/null_med.txt") µs; slow-path deliveries $slow"
  note+="; round trips timed under 1 µs (guest clock stood still) $stalls of 60000"
  note+="; raw pvclock earlier after a hypercall than before it $backwards of 60000 (worst $((max_back / 1000)) µs)"
  notes+=("$note")
}
say "3/4 event-channel round trip (unpinned, then both on CPU 0; ~15 s)..."
run_pair "unpinned" env
run_pair "same core (taskset -c 0)" taskset -c 0

# --- 4. Image size and minimum memory ----------------------------------------
say "4/4 image size and minimum memory..."
strip -o "$tmp/hello.stripped" "$hello"
size_raw=$(stat -c %s "$hello")
size_stripped=$(stat -c %s "$tmp/hello.stripped")
size_kib=$(ratio "$size_stripped" 1024 1)
rows+=("| hello image, stripped | $size_kib KiB | — | — | ≤ 256 KiB | $(verdict "$size_kib" 256) |")
notes+=("hello image: $size_raw bytes unstripped, $size_stripped bytes stripped")

# boots KIB: does hello boot (exit 0 and print its greeting) in KIB KiB of memory?
boots() {
  local out
  out=$(timeout 20 "$atoll" run --memory "${1}K" "$hello" 2>&1) || return 1
  grep -q "Hello" <<<"$out"
}
lo=0 hi=48  # memory = 1024 + 64 * step KiB, for step in 0..48 (1024K..4096K)
if ! boots 4096; then
  min_mem="> 4096"
  min_verdict="**missed**"
elif boots 1024; then
  min_mem="≤ 1024"
  min_verdict="met"
else
  # Invariant: step lo does not boot, step hi boots.
  while ((hi - lo > 1)); do
    mid=$(((lo + hi) / 2))
    if boots $((1024 + 64 * mid)); then hi=$mid; else lo=$mid; fi
  done
  min_mem=$((1024 + 64 * hi))
  min_verdict=$(verdict "$min_mem" 2048)
  boots "$min_mem" || die "hello booted in ${min_mem}K during the bisection but not on re-check"
  notes+=("minimum memory: ${min_mem}K boots, $((min_mem - 64))K does not")
fi
rows+=("| least memory that boots hello (\`--memory\`, 64 KiB steps) | $min_mem KiB | — | — | ≤ 2048 KiB | $min_verdict |")

notes+=("load average at end $(cut -d' ' -f1-3 /proc/loadavg)")

# --- Report -----------------------------------------------------------------
echo "| benchmark | Atoll | native peer | ratio | goal | verdict |"
echo "|---|---:|---:|---:|---|---|"
printf '%s\n' "${rows[@]}"
echo
printf -- '- %s\n' "${notes[@]}"

# --- Grant copy and xenstore (their own tables) ---------------------------------
echo
echo "### Grant copy, backend side (GrantTable::copy_from vs memcpy, same run)"
"$build/bench/grant-copy-bench"
echo
echo "### XenStore ops/s with 1, 100 and 1000 domains"
"$build/bench/xenstore/xenstore-bench" ${XS_BENCH_ARGS:-}
echo
echo "### A fleet on one host (bench/fleet/run.sh: create latency, burst rate, density)"
"$src/bench/fleet/run.sh" "$build" "${FLEET_SAMPLES:-30}" "${FLEET_DENSITY:-10000}"
echo
echo "### Sealed and signed images (bench/image/run.sh: verification at boot, a 64 MiB archive, sizes)"
"$src/bench/image/run.sh" "$build"
