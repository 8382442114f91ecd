#!/usr/bin/env bash
# Builds a libFuzzer target with clang (ASan + UBSan) outside meson and fuzzes
# it for a while, starting from its committed seed corpus.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET]    (default 60 s, xenstored)
#
# SECONDS 0 builds the target and runs its corpus once under the sanitizers.
#
# TARGET is one of: xenstored (corpus/), xl-cfg (xl_cfg_corpus/), image (the
# sealed image format, image_corpus/), netif-tx, blkif, elf, tar, httpd,
# resp, aof, console, gnttab-copy, multicall, netif-rx (each with its
# TARGET_corpus/, underscores for dashes).
# docs/security.md lists what each covers. New inputs go to
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
    libs=(-lsodium -lcrypto) ;;
  netif-tx)
    seeds=tests/fuzz/netif_tx_corpus
    sources=(
      hypervisor/gnttab.cpp
      hypervisor/guest_memory.cpp
      hypervisor/backends/netback/checksum.cpp
      hypervisor/backends/netback/gso.cpp
      hypervisor/backends/netback/netif_request.cpp
      tests/fuzz/netif_tx_fuzz.cpp
    )
    flags+=(-Ihypervisor/backends/netback) ;;
  blkif)
    seeds=tests/fuzz/blkif_corpus
    sources=(
      hypervisor/gnttab.cpp
      hypervisor/guest_memory.cpp
      hypervisor/backends/blkback/blkback_request.cpp
      tests/fuzz/blkif_fuzz.cpp
    )
    flags+=(-Ihypervisor/backends/blkback) ;;
  console)
    seeds=tests/fuzz/console_corpus
    sources=(hypervisor/gnttab.cpp hypervisor/guest_memory.cpp hypervisor/backends/console_ring.cpp tests/fuzz/console_fuzz.cpp)
    flags+=(-Ihypervisor/backends) ;;
  elf)
    seeds=tests/fuzz/elf_corpus
    sources=(hypervisor/elf_image.cpp tests/fuzz/elf_fuzz.cpp) ;;
  tar)
    seeds=tests/fuzz/tar_corpus
    sources=(libc-glue/fs/archive_index.cpp libc-glue/fs/block_source.cpp libc-glue/fs/ustar.cpp tests/fuzz/tar_fuzz.cpp)
    flags+=(-Ilibc-glue/fs) ;;
  httpd)
    seeds=tests/fuzz/httpd_corpus
    sources=(apps/httpd/http_date.cpp apps/httpd/http_parser.cpp apps/httpd/range.cpp apps/httpd/url_path.cpp
      tests/fuzz/httpd_fuzz.cpp)
    flags+=(-Iapps/httpd) ;;
  resp)
    seeds=tests/fuzz/resp_corpus
    sources=(apps/kvstore/numbers.cpp apps/kvstore/resp.cpp tests/fuzz/resp_fuzz.cpp)
    flags+=(-Iapps/kvstore) ;;
  aof)
    seeds=tests/fuzz/aof_corpus
    # The log's recovery replays into kvstore's keyspace code: take it all but
    # the program and the guest-only devices.
    sources=($(ls apps/kvstore/*.cpp | grep -v -e /main.cpp -e /block_log_device.cpp -e /heap_guest.cpp)
      tests/fuzz/aof_fuzz.cpp)
    flags+=(-Iapps/kvstore -fno-exceptions -fno-rtti) ;;
  gnttab-copy | multicall)
    # A whole Domain serves the hypercalls in-process (fuzz_domain.h).
    seeds=tests/fuzz/${target//-/_}_corpus
    sources=(hypervisor/clock.cpp hypervisor/cpu_cap.cpp hypervisor/decimal.cpp hypervisor/domain.cpp hypervisor/sandbox.cpp
      hypervisor/elf_image.cpp hypervisor/event_loop.cpp hypervisor/evtchn_table.cpp hypervisor/gnttab.cpp
      hypervisor/guest_memory.cpp hypervisor/hypercalls.cpp hypervisor/process_usage.cpp
      tests/fuzz/${target//-/_}_fuzz.cpp)
    flags+=(-Itests/unit) ;;
  netif-rx)
    # The real netfront over the dataplane tests' kernel doubles, the real
    # xenstore client, xenstored and Domain under it (tests/unit/dataplane).
    seeds=tests/fuzz/netif_rx_corpus
    sources=(hypervisor/clock.cpp hypervisor/cpu_cap.cpp hypervisor/decimal.cpp hypervisor/domain.cpp hypervisor/sandbox.cpp
      hypervisor/elf_image.cpp hypervisor/event_loop.cpp hypervisor/evtchn_table.cpp hypervisor/gnttab.cpp
      hypervisor/guest_memory.cpp hypervisor/hypercalls.cpp hypervisor/process_usage.cpp
      hypervisor/backends/xenstore_link.cpp $(ls hypervisor/xenstore/*.cpp | grep -v /main.cpp)
      xenstore-client/xs_codec.cpp xenstore-client/xs_client.cpp xenstore-client/xs_ops.cpp
      xenstore-client/xs_control.cpp xenstore-client/xenbus_frontend.cpp xenstore-client/xenbus_device.cpp
      xenstore-client/xs_ring_transport.cpp kernel/gnttab.cpp
      pv-drivers/net/netfront.cpp pv-drivers/net/netfront_xenbus.cpp pv-drivers/net/frame.cpp
      tests/unit/dataplane/guest_env.cpp tests/unit/dataplane/kernel_doubles.cpp tests/fuzz/netif_rx_fuzz.cpp)
    flags+=(-Itests/unit -Itests/unit/dataplane -Ihypervisor/backends -Ihypervisor/xenstore -Ixenstore-client
      -Ixenstore-client/include -Ikernel/include -Ipv-drivers/net -Ipv-drivers/block
      -DATOLL_RING_START=0xFFFFFFE0u -include tests/unit/dataplane/guest_heap.h) ;;
  *) echo "run.sh: unknown target $target" >&2; exit 2 ;;
esac
corpus="$out/$target-corpus"
mkdir -p "$corpus"
echo "building $out/$target-fuzz with $cxx"
"$cxx" "${flags[@]}" "${sources[@]}" ${libs[@]+"${libs[@]}"} -o "$out/$target-fuzz"
cp -n "$seeds"/* "$corpus/" 2>/dev/null || true
cd "$out"
# libFuzzer reads -max_total_time=0 as "no limit".
if [[ $seconds == 0 ]]; then exec "./$target-fuzz" -runs=0 "$target-corpus"; fi
exec "./$target-fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$target-corpus"
