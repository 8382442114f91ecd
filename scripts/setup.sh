#!/usr/bin/env bash
# Sets up everything Atoll needs on a Debian 12 machine, idempotently:
#   1. installs the Debian packages the build needs (only those missing),
#   2. builds the guest toolchain (newlib + libstdc++) once and caches it in
#      ~/.cache/atoll (about 4 minutes cold, instant afterwards),
#   3. assembles the Xen conformance rig (tests/xen: Debian's Xen and Linux
#      packages unpacked, not installed) once and caches it in ~/.cache/atoll/xen-rig,
#   4. configures and builds everything in ./build with meson and ninja.
#
#   scripts/setup.sh [--no-build]
# Run as root, or as a user with sudo for the package step. ATOLL_JOBS=N
# limits ninja's parallel jobs for the build of ./build (default: ninja's
# own, a couple more than the CPUs), for a machine shared with other work.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

packages=(build-essential meson ninja-build python3 pkg-config xz-utils libgtest-dev
          libxen-dev newlib-source gcc-12-source hyperfine xenstore-utils liburing-dev libslirp-dev libglib2.0-dev libsodium-dev libssl-dev passt curl netcat-openbsd redis-tools wrk
          apache2-utils nghttp2-client nlohmann-json3-dev libcli11-dev
          qemu-system-x86 busybox-static cpio kmod)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages: all present"
fi

say "guest toolchain (newlib + libstdc++; cached in ${ATOLL_CACHE:-$HOME/.cache/atoll})"
sysroot=$(scripts/build-toolchain.sh)
mkdir -p .atoll
scripts/mk-cross-file.sh "$sysroot" .atoll/guest-cross.ini.new
if ! cmp -s .atoll/guest-cross.ini.new .atoll/guest-cross.ini 2>/dev/null; then
  mv .atoll/guest-cross.ini.new .atoll/guest-cross.ini
  rm -rf build   # the toolchain changed under an existing build
else
  rm -f .atoll/guest-cross.ini.new
fi

say "Xen conformance rig (cached in ${ATOLL_CACHE:-$HOME/.cache/atoll}/xen-rig)"
rig_status=0
tests/xen/build-rig.sh >/dev/null || rig_status=$?
case $rig_status in
  0) ;;
  77) say "the Xen rig cannot be built here: the xen suite will skip" ;;
  *) say "the Xen rig failed to build (status $rig_status): the xen suite will fail" ;;
esac

say "lwIP source (Debian's lwip source package, into subprojects/packagecache)"
scripts/fetch-lwip.sh

# meson unpacks and patches lwIP once: a checkout whose patches changed since
# unpacks it again (the reconfigure below; the patched files are rebuilt).
lwip_stamp=$(cat subprojects/lwip.wrap subprojects/packagefiles/*.patch subprojects/packagefiles/lwip/* | sha256sum | cut -d' ' -f1)
if [[ -d subprojects/lwip-2.1.3 && $(cat subprojects/lwip-2.1.3/.atoll-stamp 2>/dev/null) != "$lwip_stamp" ]]; then
  say "lwIP's patches changed: unpacking it again"
  rm -rf subprojects/lwip-2.1.3
  if [[ -f build/build.ninja ]]; then meson setup --reconfigure build >/dev/null; fi
fi

if [[ ! -f build/build.ninja ]]; then
  say "configuring ./build"
  meson setup build --cross-file "$root/.atoll/guest-cross.ini" --wrap-mode=nodownload >/dev/null
fi
if [[ -d subprojects/lwip-2.1.3 ]]; then echo "$lwip_stamp" > subprojects/lwip-2.1.3/.atoll-stamp; fi
[[ ${1:-} == --no-build ]] && exit 0
say "building"
if ! ninja -C build ${ATOLL_JOBS:+-j "$ATOLL_JOBS"} >build/ninja.log 2>&1; then
  grep -E -A5 "FAILED|error" build/ninja.log | head -60 >&2
  echo "setup: the build failed; the full log is build/ninja.log" >&2
  exit 1
fi
tail -1 build/ninja.log
say "ready: build/hypervisor/atoll run build/apps/hello/hello"
