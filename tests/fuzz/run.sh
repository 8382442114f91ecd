#!/usr/bin/env bash
# Builds the xenstored libFuzzer target with clang (ASan + UBSan) outside meson
# and fuzzes it for a while, starting from the committed seed corpus.
#
#   tests/fuzz/run.sh [SECONDS]     (default 60)
#
# New inputs go to build-fuzz/corpus (the seeds in the tree are not touched);
# crashes land in build-fuzz/ as crash-*. Replay one with
#   build-fuzz/xenstored-fuzz build-fuzz/crash-...
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
out=${FUZZ_BUILD_DIR:-build-fuzz}
cxx=${CXX_FUZZ:-$(command -v clang++ || command -v clang++-14 || true)}
if [[ -z $cxx ]]; then
  echo "run.sh: installing clang and its fuzzer runtime (Debian packages clang, libclang-rt-14-dev)" >&2
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo=sudo
  $sudo apt-get install -y -qq clang libclang-rt-14-dev >/dev/null ||
    { echo "run.sh: could not install clang; install it and run again" >&2; exit 1; }
  cxx=$(command -v clang++ || command -v clang++-14)
fi
mkdir -p "$out/corpus"
sources=(
  hypervisor/xenstore/node_ops.cpp
  hypervisor/xenstore/node_store.cpp
  hypervisor/xenstore/node_view.cpp
  hypervisor/xenstore/xenstored_core.cpp
  hypervisor/xenstore/xenstored_domain.cpp
  hypervisor/xenstore/xenstored_requests.cpp
  hypervisor/xenstore/xenstored_transaction.cpp
  hypervisor/xenstore/xenstored_watch.cpp
  hypervisor/xenstore/xs_connection.cpp
  hypervisor/xenstore/xs_path.cpp
  hypervisor/xenstore/xs_perms.cpp
  hypervisor/xenstore/xs_ring.cpp
  hypervisor/xenstore/xs_wire.cpp
  tests/fuzz/xenstored_fuzz.cpp
)
echo "building $out/xenstored-fuzz with $cxx"
"$cxx" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -D__XEN_INTERFACE_VERSION__=0x00040e00 -include stdint.h \
  -Ihypervisor/xenstore -Ihypervisor -Iabi/include -Iabi/hosted/include \
  "${sources[@]}" -o "$out/xenstored-fuzz"
cp -n tests/fuzz/corpus/* "$out/corpus/" 2>/dev/null || true
cd "$out"
exec ./xenstored-fuzz -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 corpus
