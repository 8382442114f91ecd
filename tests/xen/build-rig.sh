#!/usr/bin/env bash
# Assembles the Xen conformance rig from Debian packages and caches it:
#   xen            Debian's Xen 4.17 hypervisor, gunzipped (QEMU boots it as multiboot)
#   vmlinux        Debian's Linux kernel (the ELF out of its bzImage), dom0 and control domU
#   dom0.cpio      dom0's initramfs (uncompressed newc, padded to 512 bytes so
#                  a second archive can be appended; see README.md)
#
#   tests/xen/build-rig.sh            prints the cache directory on stdout
#
# The Xen and kernel packages are fetched with `apt-get download` and unpacked
# with `dpkg-deb -x`; nothing is installed on the host but the tools listed in
# scripts/setup.sh. The cache lives in ${ATOLL_CACHE:-~/.cache/atoll}/xen-rig/KEY,
# KEY a hash of the package versions and of this directory's rootfs files, so a
# new Debian point release or an edited init script builds a fresh rig.
# Exit status 77 with a reason on stderr: the packages cannot be had here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
say() { printf '[xen-rig] %s\n' "$*" >&2; }
skip() { printf 'xen-rig: %s\n' "$*" >&2; exit 77; }

xen_pkgs=(xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common xenstore-utils
          libxenmisc4.17 libxenstore4 libxentoolcore1 libxentoollog1 libxencall1 libxenevtchn1
          libxenforeignmemory1 libxengnttab1 libxendevicemodel1 libxenhypfs1 libyajl2)
# Host binaries copied into dom0 (with the libraries ldd finds).
host_bins=(/bin/bash /usr/bin/flock /sbin/ip /usr/bin/curl /usr/bin/redis-cli)
host_pkgs=(busybox-static bash util-linux iproute2 curl redis-tools libc6 libgcc-s1)
dom0_modules=(xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xen-netback xen-blkback bridge loop)
domu_modules=(xen-netfront xen-blkfront)

command -v apt-cache >/dev/null || skip "no apt-cache: not a Debian host"
for t in busybox cpio depmod modprobe dpkg-deb; do
  command -v "$t" >/dev/null || skip "host tool '$t' missing (scripts/setup.sh installs busybox-static cpio kmod)"
done

cache=${ATOLL_CACHE:-$HOME/.cache/atoll}/xen-rig
# apt-cache reads the whole package index (seconds on a busy machine): while the
# index, the installed packages and this directory are unchanged since a run
# that found its rig, reuse that run's answer.
quick=$( { stat -c %Y /var/lib/apt/lists /var/lib/dpkg/status 2>/dev/null
           cat "$here/build-rig.sh" "$here"/rootfs/*; } | sha256sum | cut -c1-16)
if [[ -f $cache/quick-$quick ]] && last=$(cat "$cache/quick-$quick") && [[ -f $cache/$last/ok ]]; then
  echo "$cache/$last"; exit 0
fi

kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
[[ -n $kernel_pkg ]] || skip "apt-cache cannot resolve linux-image-amd64 (run apt-get update)"
kver=${kernel_pkg#linux-image-}

# One apt-cache call for all candidates: each call reads the whole package cache.
versions=$(apt-cache policy "${xen_pkgs[@]}" "$kernel_pkg" 2>/dev/null |
  awk '/^[^ ]/ {p = $1; sub(":$", "", p)} /Candidate:/ {printf "%s=%s ", p, $2}')
for p in "${xen_pkgs[@]}" "$kernel_pkg"; do
  [[ " $versions" == *" $p="* && " $versions" != *" $p=(none)"* ]] ||
    skip "package $p not in the apt index (run apt-get update)"
done
versions+=$(dpkg-query -W -f='${Package}=${Version} ' "${host_pkgs[@]}" 2>/dev/null) ||
  skip "host packages missing: one of ${host_pkgs[*]} (scripts/setup.sh installs them)"
key=$( { echo "$versions"; cat "$here/build-rig.sh" "$here"/rootfs/*; } | sha256sum | cut -c1-16)
out=$cache/$key
remember() { rm -f "$cache"/quick-*; echo "$key" >"$cache/quick-$quick"; }
if [[ -f $out/ok ]]; then remember; echo "$out"; exit 0; fi

mkdir -p "$cache"
exec 9>"$cache.lock"
flock 9
if [[ -f $out/ok ]]; then remember; echo "$out"; exit 0; fi
say "building the rig into $out (cold: downloads ~75 MB of Debian packages)"
t0=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/xen-rig.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/pkg"
( cd "$work/debs" && apt-get download -q "${xen_pkgs[@]}" "$kernel_pkg" >/dev/null 2>"$work/download.log" ) \
  || { cat "$work/download.log" >&2; skip "apt-get download of the Xen/kernel packages failed"; }
for d in "$work"/debs/*.deb; do
  [[ $d == */linux-image-* ]] || dpkg-deb -x "$d" "$work/pkg"
done
# Of the kernel package only the kernel and the modules the rig loads (and what
# they need): unpacking all ~400 MB of modules is most of a cold build's time.
dpkg-deb --fsys-tarfile "$work"/debs/linux-image-*.deb |
  tar -x -C "$work/pkg" --wildcards './boot/vmlinuz-*' './boot/config-*' \
    "./lib/modules/$kver/modules.*" "./lib/modules/$kver/kernel/drivers/xen/*" \
    "./lib/modules/$kver/kernel/drivers/net/xen-net*" "./lib/modules/$kver/kernel/drivers/block/*" \
    "./lib/modules/$kver/kernel/net/bridge/*" "./lib/modules/$kver/kernel/net/802/*" \
    "./lib/modules/$kver/kernel/net/llc/*"
say "downloaded and unpacked ($((SECONDS - t0)) s)"
pkg=$work/pkg
moddir=$pkg/lib/modules/$kver
[[ -d $moddir ]] || { say "no $moddir in $kernel_pkg"; exit 1; }

# The ELF inside Debian's bzImage, decompressed once here: Xen (for dom0) and
# libxc in dom0 (for each control domU) otherwise spend 5-15 s of emulated CPU
# on XZ every boot.
extract_vmlinux() {
  python3 - "$1" "$2" <<'PY'
import lzma, sys
data = open(sys.argv[1], "rb").read()
at = data.find(b"\xfd7zXZ\x00")
if at < 0:
    sys.exit("no XZ payload in " + sys.argv[1])
elf = lzma.LZMADecompressor().decompress(data[at:])
if elf[:4] != b"\x7fELF":
    sys.exit("the XZ payload of " + sys.argv[1] + " is not an ELF")
open(sys.argv[2], "wb").write(elf)
PY
}

# Zero padding to a multiple of 512 bytes, so that an archive appended later
# starts aligned: the kernel skips zeros between archives, and wants the next
# cpio header at a 4-byte offset.
pad512() {
  local sz; sz=$(stat -c %s "$1")
  head -c $(( (512 - sz % 512) % 512 )) /dev/zero >>"$1"
}

# --- dom0 root: a merged-/usr layout like Debian's --------------------------------
root=$work/dom0
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,etc,proc,sys,dev,run,tmp,root,var/log/xen/console,var/lib/xen,guest,rig}
ln -s usr/bin "$root/bin"; ln -s usr/sbin "$root/sbin"; ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"
ln -s ../run "$root/var/run"; ln -s ../run/lock "$root/var/lock"

# The Xen tools as Debian installs them, minus what dom0 here never runs.
cp -a "$pkg/usr/lib/xen-4.17" "$root/usr/lib/"
rm -f "$root"/usr/lib/xen-4.17/bin/{oxenstored,pygrub,xenpvnetboot,xencov_split}
rm -rf "$root/usr/lib/xen-4.17/boot"
cp -a "$pkg"/usr/lib/x86_64-linux-gnu/. "$root/usr/lib/x86_64-linux-gnu/"
cp -a "$pkg"/usr/bin/xenstore* "$root/usr/bin/"
cp -a "$pkg/etc/xen" "$root/etc/"
# Debian's /usr/sbin/xl is a wrapper that picks a Xen version; there is one.
for b in xl xenstored xenconsoled xen-init-dom0 xenconsole; do
  ln -sf ../lib/xen-4.17/bin/$b "$root/usr/sbin/$b"
done

for b in "${host_bins[@]}"; do cp -L "$b" "$root/usr/bin/${b##*/}"; done

say "libraries ($((SECONDS - t0)) s)"
# Libraries: every ELF's ldd closure, from the unpacked packages first, then the
# host. One ldd over all files and no subshell per line: forks are what cost
# minutes here on a busy machine.
mapfile -t elves < <(find "$root/usr/bin" "$root/usr/lib/xen-4.17/bin" "$root/usr/lib/x86_64-linux-gnu" \
  -type f -exec grep -l -m1 -F $'\x7fELF' {} +)
LD_LIBRARY_PATH=$pkg/usr/lib/x86_64-linux-gnu ldd "${elves[@]}" 2>/dev/null >"$work/ldd.txt" || true
if grep -q 'not found' "$work/ldd.txt"; then
  say "unresolved libraries:"; grep -B50 'not found' "$work/ldd.txt" | grep -E '^/|not found' >&2; exit 1
fi
awk '$2 == "=>" && $3 ~ /^\// {print $3}' "$work/ldd.txt" | sort -u | while read -r lib; do
  case $lib in "$pkg"/*) continue ;; esac   # copied above with the package tree
  [[ -e $root/usr/lib/x86_64-linux-gnu/${lib##*/} ]] || cp -L "$lib" "$root/usr/lib/x86_64-linux-gnu/"
done
cp -L /lib64/ld-linux-x86-64.so.2 "$root/usr/lib64/"
# glibc dlopen()s libgcc_s for pthread_cancel; ldd does not list it (xl aborts without).
cp -L /lib/x86_64-linux-gnu/libgcc_s.so.1 "$root/usr/lib/x86_64-linux-gnu/"

# busybox for everything else, linked only where no real binary sits.
cp /bin/busybox "$root/usr/bin/busybox"
while read -r applet; do
  a=${applet#/}; a=${a/#bin\//usr\/bin\/}; a=${a/#sbin\//usr\/sbin\/}
  [[ -e $root/$a || -L $root/$a ]] && continue
  [[ -e $root/usr/bin/${a##*/} || -e $root/usr/sbin/${a##*/} ]] && continue
  [[ -d $root/${a%/*} ]] || mkdir -p "$root/${a%/*}"
  ln -s /usr/bin/busybox "$root/$a"
done < <(/bin/busybox --list-full)

# Kernel modules with their dependencies, and modules.dep for busybox modprobe.
copy_modules() {  # dest-root module...
  local dest=$1; shift
  depmod -b "$pkg" "$kver"
  for m in "$@"; do
    modprobe -d "$pkg" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}' | while read -r ko; do
      rel=${ko#"$pkg"/}; mkdir -p "$dest/$(dirname "$rel")"; cp "$ko" "$dest/$rel"
    done
  done
  cp "$moddir"/modules.{order,builtin,builtin.modinfo} "$dest/lib/modules/$kver/" 2>/dev/null || true
  depmod -b "$dest" "$kver"
}
say "modules ($((SECONDS - t0)) s)"
mkdir -p "$root/lib/modules/$kver"
copy_modules "$root" "${dom0_modules[@]}"

install -m 755 "$here/rootfs/dom0-init" "$root/init"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
echo "127.0.0.1 localhost" >"$root/etc/hosts"
mkdir -p "$root/etc/modprobe.d"

# --- the control domU: Debian's kernel with a busybox initrd ----------------------
g=$work/domu
mkdir -p "$g"/{bin,sbin,proc,sys,dev,tmp,lib/modules/$kver}
cp /bin/busybox "$g/bin/busybox"
# --install links to the path busybox runs from, /usr/bin/busybox on a merged-/usr
# host: give the domU that path too.
mkdir -p "$g/usr"; ln -s ../bin "$g/usr/bin"; ln -s ../sbin "$g/usr/sbin"
/bin/busybox --install -s "$g/bin"
for a in poweroff reboot halt; do ln -sf ../bin/busybox "$g/sbin/$a"; done
copy_modules "$g" "${domu_modules[@]}"
# Its /init is not here: rig.py appends it per run (tests/xen/dom0/domu-init).
# Uncompressed: libxc tries to gunzip a gzip ramdisk whole, and the /init
# appended after the gzip stream makes that fail (noisily, though it then falls back).
(cd "$g" && find . | sort | cpio -o -H newc --quiet) >"$root/guest/domu-initrd.cpio"
pad512 "$root/guest/domu-initrd.cpio"
extract_vmlinux "$pkg/boot/vmlinuz-$kver" "$root/guest/vmlinux"

say "archives ($((SECONDS - t0)) s)"
# --- outputs -----------------------------------------------------------------------
rm -rf "$out.tmp"; mkdir -p "$out.tmp"
(cd "$root" && find . | sort | cpio -o -H newc --quiet) >"$out.tmp/dom0.cpio"
pad512 "$out.tmp/dom0.cpio"
zcat "$pkg/boot/xen-4.17-amd64.gz" >"$out.tmp/xen"
extract_vmlinux "$pkg/boot/vmlinuz-$kver" "$out.tmp/vmlinux"
echo "$versions" | tr ' ' '\n' | sed '/^$/d' >"$out.tmp/versions"
rm -rf "$out"; mv "$out.tmp" "$out"; touch "$out/ok"
# Older rigs are dead weight: keep only this one.
find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
remember
say "built in $((SECONDS - t0)) s: $(du -sh "$out" | cut -f1)"
echo "$out"
