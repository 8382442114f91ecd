#!/usr/bin/env bash
# bench/blk/run.sh [BUILD_DIR] [SIZE_MIB]: block I/O through blkfront/blkback
# against the host doing the same I/O on the same file: 4 KiB random reads at
# queue depth 1 and 32 (io_uring; the guest keeps 32 blkfront requests in
# flight), sequential 128 KiB reads and writes (io_uring, QD1), and 4 KiB
# write + flush latency (pwrite + fdatasync), the guest doing write() then
# flush() (flush) or one FLUSH_DISKCACHE carrying the data (writeflush). Buffered I/O on
# both sides, or with DIRECT=1 O_DIRECT on both (`--disk FILE,direct` and the
# native tool's `direct`); the file's page cache is dropped
# (posix_fadvise DONTNEED after fdatasync) before every run of every phase.
# Each phase runs ROUNDS times (default 3) on each side, interleaved; medians.
# PHASES="randread32 ..." runs only those.
set -euo pipefail

build=$(cd "${1:-build}" && pwd)
size_mib=${2:-256}
rounds=${ROUNDS:-3}
direct=${DIRECT:-0}
atoll=$build/hypervisor/atoll
guest=$build/bench/blk/blk_bench
native=$build/bench/blk/blk-bench-native
for f in "$atoll" "$guest" "$native"; do
  [[ -x $f ]] || { echo "bench/blk/run.sh: missing $f; ninja -C $build" >&2; exit 1; }
done

dir=$(mktemp -d "${TMPDIR:-/var/tmp}/blkbench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
disk=$dir/disk.img
# A fully allocated file, so reads hit the disk rather than holes.
head -c $((size_mib << 20)) /dev/urandom >"$disk"
exec </dev/null

drop_cache() {
  python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDWR); os.fdatasync(fd); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$disk"
}
value() { sed -n 's/.*phase=[a-z0-9]* value=\([0-9.]*\).*/\1/p'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '| phase | unit | atoll (blkfront/blkback) | host io_uring / pwrite | ratio atoll/host |\n|---|---|---|---|---|\n'
for phase in ${PHASES:-randread randread32 seqread seqwrite flush writeflush}; do
  g=() n=()
  for ((r = 0; r < rounds; r++)); do
    drop_cache
    if ((direct)); then
      g+=("$("$atoll" run --disk "$disk,direct" "$guest" -- "$phase" | value)")
      drop_cache
      n+=("$("$native" "$disk" "$phase" direct | value)")
    else
      g+=("$("$atoll" run --disk "$disk" "$guest" -- "$phase" | value)")
      drop_cache
      n+=("$("$native" "$disk" "$phase" | value)")
    fi
  done
  gm=$(printf '%s\n' "${g[@]}" | median)
  nm=$(printf '%s\n' "${n[@]}" | median)
  case $phase in
    randread) unit="IOPS (4 KiB, QD1)" ;;
    randread32) unit="IOPS (4 KiB, QD32)" ;;
    seq*) unit="MB/s (128 KiB)" ;;
    flush) unit="median ns (4 KiB write, then flush)" ;;
    writeflush) unit="median ns (4 KiB write carrying a flush)" ;;
  esac
  echo "bench/blk: $phase atoll=[${g[*]}] host=[${n[*]}]" >&2
  printf '| %s | %s | %.1f | %.1f | %.2f |\n' "$phase" "$unit" "$gm" "$nm" "$(awk -v a="$gm" -v b="$nm" 'BEGIN { print a / b }')"
done
