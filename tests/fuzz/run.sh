#!/usr/bin/env bash
# Builds a libFuzzer target with clang (ASan + UBSan) outside meson and fuzzes
# it for a while, starting from its committed seed corpus.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET]    (default 60 s, xenstored)
#
# TARGET is xenstored (corpus/), xl-cfg (xl_cfg_corpus/) or image (the sealed
# image format, image_corpus/). New inputs go to
# build-fuzz/TARGET-corpus (the seeds in the tree are not touched); crashes
# land in build-fuzz/ as crash-*. Replay one with
#   build-fuzz/TARGET-fuzz build-fuzz/crash-...
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
target=${2:-xenstored}
libs=()
flags=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
  -D__XEN_INTERFACE_VERSION__=0x00040e00 -include stdint.h -Ihypervisor -Iabi/include -Iabi/hosted/include)
case $target in
  xenstored)
    seeds=tests/fuzz/corpus
    sources=(
      hypervisor/decimal.cpp
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
    flags+=(-Ihypervisor/xenstore) ;;
  xl-cfg)
    seeds=tests/fuzz/xl_cfg_corpus
    sources=(
      hypervisor/config/domain_spec.cpp
      hypervisor/config/run_options.cpp
      hypervisor/config/xl_cfg.cpp
      hypervisor/config/xl_cfg_reader.cpp
      hypervisor/config/xl_devices.cpp
      hypervisor/config/xl_keys.cpp
      hypervisor/backends/blkback/disk_config.cpp
      hypervisor/backends/netback/vif_config.cpp
      hypervisor/decimal.cpp
      tests/fuzz/xl_cfg_fuzz.cpp
    )
    flags+=(-Ihypervisor/config -Ihypervisor/backends -Ihypervisor/backends/netback -Ihypervisor/backends/blkback) ;;
  image)
    seeds=tests/fuzz/image_corpus
    sources=(
      hypervisor/image/image_crypto.cpp
      hypervisor/image/manifest.cpp
      hypervisor/image/sealed_image.cpp
      hypervisor/decimal.cpp
      tests/fuzz/image_fuzz.cpp
    )
    flags+=(-Ilibc-glue/fs)
    libs=(-lsodium) ;;
  *) echo "run.sh: unknown target $target (xenstored, xl-cfg or image)" >&2; exit 2 ;;
esac
corpus="$out/$target-corpus"
mkdir -p "$corpus"
echo "building $out/$target-fuzz with $cxx"
"$cxx" "${flags[@]}" "${sources[@]}" ${libs[@]+"${libs[@]}"} -o "$out/$target-fuzz"
cp -n "$seeds"/* "$corpus/" 2>/dev/null || true
cd "$out"
exec "./$target-fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$target-corpus"
