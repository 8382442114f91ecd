#!/usr/bin/env bash
# bench/image/run.sh [BUILD_DIR]: what sealing and signing cost at boot
# (issue 14), each in the same run as its unsealed peer; a markdown table on
# stdout, progress on stderr. See bench/RESULTS.md.
#
#   1. `atoll run hello` end to end: the bare ELF, the same ELF sealed, and
#      sealed + signed and run with --require-signed --trusted-keys
#      (hyperfine -N, 5 warm-ups, 40 runs each); then bare and signed in turns
#      (bench/ab.py, 300 pairs, each in a random order), which is what the goal
#      is judged on: signed within 5 % of bare. Run one after the other, the
#      medians of a shared VM drift by more than that.
#   2. a 64 MiB archive: hello sealed with 64 MiB of incompressible files,
#      signed, run with --trusted-keys, against the bare ELF; and the peak
#      resident memory of the atoll process (GNU time's %M) against the image's
#      size. The hypervisor maps the image (its pages count once it has hashed
#      them) and copies the archive into the guest's RAM, which it also maps:
#      about 2× the image. Verification reads the mapping in place, so there is
#      no third copy; one would show as 3×.
#   3. the sizes of each part of the shipped images (atoll inspect --json).
set -euo pipefail

die() { echo "bench/image/run.sh: $*" >&2; exit 1; }
say() { echo "bench/image/run.sh: $*" >&2; }

build=${1:-build}
[[ -d $build ]] || die "no build directory '$build'"
build=$(cd "$build" && pwd)
atoll=$build/hypervisor/atoll
hello=$build/apps/hello/hello
for f in "$atoll" "$hello"; do [[ -x $f ]] || die "missing $f; build it with: ninja -C $build"; done
for tool in hyperfine python3 strip /usr/bin/time; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed (apt-get install ${tool##*/})"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
exec </dev/null

mkdir -p "$tmp/keys"
"$atoll" keygen -o "$tmp/keys/bench" >/dev/null
mkdir -p "$tmp/trusted" && cp "$tmp/keys/bench.pub" "$tmp/trusted/"
# As the build seals apps: without DWARF (docs/images.md), compared with the same bytes bare.
strip --strip-debug -o "$tmp/hello.elf" "$hello"
hello=$tmp/hello.elf
"$atoll" seal "$hello" -o "$tmp/hello.img" >/dev/null
cp "$tmp/hello.img" "$tmp/hello-signed.img"
"$atoll" sign --key "$tmp/keys/bench.key" "$tmp/hello-signed.img" >/dev/null

# 64 MiB of random bytes in 16 files, so no step can shortcut zeroes.
mkdir -p "$tmp/site"
for i in $(seq 1 16); do head -c $((4 << 20)) /dev/urandom >"$tmp/site/blob-$i.bin"; done
"$atoll" seal "$hello" --archive "$tmp/site" --memory 80M -o "$tmp/big.img" >/dev/null
"$atoll" sign --key "$tmp/keys/bench.key" "$tmp/big.img" >/dev/null
big_size=$(stat -c %s "$tmp/big.img")

run() { echo "$atoll run --net none $*"; }
say "boot end to end: bare, sealed, sealed+signed (hyperfine, 40 runs each)"
hyperfine -N --warmup 5 --runs 40 --export-json "$tmp/boot.json" \
  "$(run "$hello")" "$(run "$tmp/hello.img")" "$(run --trusted-keys "$tmp/trusted" "$tmp/hello-signed.img")" \
  "$(run --trusted-keys "$tmp/trusted" "$tmp/big.img")" >&2

say "signed against bare, in turns (bench/ab.py, 300 pairs)"
python3 "$(dirname "$0")/../ab.py" --pairs 300 --json "$tmp/ab.json" \
  -- $(run "$hello") -- $(run --trusted-keys "$tmp/trusted" "$tmp/hello-signed.img") >&2

# Peak resident memory of `atoll run` (the hypervisor; the guest is another process).
peak_kib() { /usr/bin/time -f %M -o "$tmp/time.out" "$@" >/dev/null 2>&1; cat "$tmp/time.out"; }
rss_bare=() rss_big=()
for _ in 1 2 3 4 5; do
  rss_bare+=("$(peak_kib "$atoll" run --net none "$hello")")
  rss_big+=("$(peak_kib "$atoll" run --net none --trusted-keys "$tmp/trusted" "$tmp/big.img")")
done

python3 - "$tmp/boot.json" "$big_size" "${rss_bare[*]}" "${rss_big[*]}" "$build" "$atoll" "$tmp/ab.json" <<'EOF'
import json, statistics, subprocess, sys
boot = json.load(open(sys.argv[1]))["results"]
ab = json.load(open(sys.argv[7]))
big_size = int(sys.argv[2])
rss_bare = [int(x) for x in sys.argv[3].split()]
rss_big = [int(x) for x in sys.argv[4].split()]
build, atoll = sys.argv[5], sys.argv[6]
med = [statistics.median(r["times"]) * 1e3 for r in boot]
bare = med[0]
names = ["bare ELF", "sealed", "sealed + signed, --trusted-keys", "64 MiB archive, signed, --trusted-keys"]
print("| `atoll run hello` end to end | median ms | vs bare ELF | goal |")
print("|---|---|---|---|")
for i, (n, m) in enumerate(zip(names, med)):
    print(f"| {n} | {m:.3f} | {m / bare:.2f}× | {'see the pairs below' if i == 2 else ''} |")
verdict = "met" if ab["ratio_high"] <= 1.05 else ("met at the median, not at the interval's top" if ab["ratio"] <= 1.05 else "**missed**")
print(f"| bare and signed in turns ({ab['pairs']} pairs): bare / signed | {ab['a_median_ms']:.3f} / {ab['b_median_ms']:.3f} |"
      f" {ab['ratio']:.3f}× (95 % {ab['ratio_low']:.3f}–{ab['ratio_high']:.3f}) | ≤ 1.05×: {verdict} |")
print()
print(f"In turns, the median of the per-pair ratios is {ab['median_pair_ratio']:.3f}; CPU time per boot"
      f" (atoll and its guest) {ab['a_cpu_ms']:.2f} ms bare, {ab['b_cpu_ms']:.2f} ms signed"
      f" ({ab['b_cpu_ms'] / ab['a_cpu_ms']:.3f}×).")
mib = big_size / 2**20
pb, pg = statistics.median(rss_bare) / 1024, statistics.median(rss_big) / 1024
print()
print(f"64 MiB archive: image {mib:.1f} MiB; peak RSS of `atoll run` {pg:.1f} MiB against {pb:.1f} MiB for the bare ELF:"
      f" {pg - pb:.1f} MiB more, {(pg - pb) / mib:.2f}× the image (the mapped image and the guest's copy of its"
      f" archive: 2×; a verification that read the image into a buffer would make it 3×).")
print()
print("| image | total | ELF | archive | manifest | trailer (digest + room for a signature) | signed |")
print("|---|---|---|---|---|---|---|")
tmp = sys.argv[1].rsplit("/", 1)[0]
for img in [f"{tmp}/hello.img", f"{tmp}/hello-signed.img", f"{build}/apps/httpd/httpd-demo", f"{build}/apps/kvstore/kvstore"]:
    r = subprocess.run([atoll, "inspect", "--json", img], capture_output=True, text=True)
    if r.returncode:
        continue
    j = json.loads(r.stdout)
    p = j["parts"]
    kib = lambda n: f"{n / 1024:.1f} KiB"
    trailer = p["trailer"]["size"]
    print(f"| {img.split('/')[-1]} | {kib(j['size'])} | {kib(p['elf']['size'])} | "
          f"{kib(p['archive']['size']) if p.get('archive') else '-'} | {p['manifest']['size']} B | {trailer} B | {'yes' if j['signature'] else 'no'} |")
EOF
