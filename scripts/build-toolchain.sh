#!/usr/bin/env bash
# Builds the guest sysroot: newlib (from Debian's newlib-source) and libstdc++-v3
# (from Debian's gcc-12-source) for the freestanding x86_64-elf guest target.
#
#   scripts/build-toolchain.sh [CACHE_DIR]   -> prints the sysroot path on stdout
#
# The result is cached under CACHE_DIR (default ~/.cache/atoll) keyed by this
# script and the versions of the Debian packages it builds from, so a warm run
# takes well under a second. The sysroot is complete only once `.complete`
# exists; an interrupted build is redone from scratch.
set -euo pipefail

cache_root=${1:-${ATOLL_CACHE:-$HOME/.cache/atoll}}
here=$(cd "$(dirname "$0")" && pwd)

pkg_versions=$(dpkg-query -W -f='${Package}=${Version}\n' newlib-source gcc-12-source gcc-12 g++-12 binutils libgcc-12-dev 2>/dev/null | sort)
key=$( { cat "$here/build-toolchain.sh"; echo "$pkg_versions"; } | sha256sum | cut -c1-16)
sysroot="$cache_root/sysroot-$key"

if [[ -f "$sysroot/.complete" ]]; then
  echo "$sysroot"
  exit 0
fi

log() { printf '[toolchain] %s\n' "$*" >&2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/atoll-toolchain.XXXXXX")
trap 'rm -rf "$work"' EXIT
rm -rf "$sysroot"
mkdir -p "$sysroot"
jobs=$(nproc)
ginc=$(gcc -print-file-name=include)

# Flags every guest library is built with. -mno-red-zone: upcalls may land on the
# current stack. Frame pointers stay so the hypervisor can walk a crashed guest's stack.
guest_cflags="-O2 -g -fno-pie -mno-red-zone -fno-stack-protector -fno-omit-frame-pointer \
-ffunction-sections -fdata-sections -Wa,--noexecstack"

start=$(date +%s)
log "newlib: unpacking $(ls /usr/src/newlib/newlib-*.tar.xz)"
tar -C "$work" -xf /usr/src/newlib/newlib-*.tar.xz
mkdir "$work/newlib-build"
(
  cd "$work/newlib-build"
  log "newlib: configuring"
  ../newlib-salsa/configure --target=x86_64-elf --prefix="$sysroot" \
    CC_FOR_TARGET=gcc AS_FOR_TARGET=as LD_FOR_TARGET=ld AR_FOR_TARGET=ar RANLIB_FOR_TARGET=ranlib \
    NM_FOR_TARGET=nm OBJDUMP_FOR_TARGET=objdump STRIP_FOR_TARGET=strip READELF_FOR_TARGET=readelf \
    CFLAGS_FOR_TARGET="$guest_cflags -nostdinc -isystem $ginc" \
    --disable-multilib --disable-nls --disable-newlib-supplied-syscalls \
    --enable-newlib-io-long-long --enable-newlib-io-c99-formats \
    --enable-newlib-retargetable-locking --enable-newlib-global-stdio-streams >"$work/newlib-configure.log" 2>&1
  log "newlib: compiling (about 2 minutes)"
  make -j"$jobs" >"$work/newlib-make.log" 2>&1 || { tail -40 "$work/newlib-make.log" >&2; exit 1; }
  make install >"$work/newlib-install.log" 2>&1
)
grep -q __libc_init_array <(nm "$sysroot/x86_64-elf/lib/libc.a" 2>/dev/null) \
  || { log "newlib lacks __libc_init_array (READELF_FOR_TARGET?)"; exit 1; }
# --sysroot layout: <sysroot>/usr/{include,lib} point at the newlib install.
mkdir -p "$sysroot/usr"
ln -sfn ../x86_64-elf/include "$sysroot/usr/include"
ln -sfn ../x86_64-elf/lib "$sysroot/usr/lib"
log "newlib: done in $(( $(date +%s) - start )) s"

start=$(date +%s)
log "libstdc++: unpacking the parts of gcc-12 it needs"
src_tar=$(ls /usr/src/gcc-12/gcc-*.tar.xz)
top=$(basename "$src_tar" .tar.xz)   # gcc-12.2.0-dfsg.tar.xz unpacks to gcc-12.2.0
top=${top%-dfsg}
tar -C "$work" -xf "$src_tar" \
  --exclude="$top/libstdc++-v3/testsuite/*/*" --exclude="$top/libstdc++-v3/doc/html" \
  --exclude="$top/libstdc++-v3/doc/xml" \
  "$top/libstdc++-v3" "$top/libgcc" "$top/include" "$top/libiberty" "$top/config" \
  "$top/gcc/BASE-VER" "$top/gcc/DATESTAMP" "$top/gcc/DEV-PHASE" \
  --wildcards "$top/config.*" "$top/*.m4" "$top/ltmain.sh" "$top/install-sh" "$top/missing" \
  "$top/mkinstalldirs" "$top/move-if-change" "$top/config-ml.in" "$top/symlink-tree" \
  "$top/compile" "$top/depcomp" "$top/ylwrap" "$top/test-driver" 2>/dev/null || true
[[ -d "$work/$top/libstdc++-v3" ]] || { log "could not unpack libstdc++-v3 from $src_tar"; exit 1; }

# Wrappers that make the host gcc behave as an x86_64-elf cross compiler over newlib.
bin="$work/bin"; mkdir -p "$bin"
for tool in ar ranlib nm objdump strip readelf as ld objcopy; do ln -s "$(command -v $tool)" "$bin/x86_64-elf-$tool"; done
for pair in gcc:gcc g++:g++; do
  name=${pair%%:*}; real=${pair##*:}
  cat >"$bin/x86_64-elf-$name" <<WRAP
#!/usr/bin/env bash
# Pretend to be a cross compiler: newlib headers, no glibc, single thread model.
if [[ " \$* " == *" -v "* && \$# -eq 1 ]]; then
  $real -v 2>&1 | sed 's/^Thread model: .*/Thread model: single/' >&2; exit 0
fi
link=1
for a in "\$@"; do case "\$a" in -c|-S|-E|-M|-MM) link=0;; esac; done
flags=(-nostdinc -isystem $ginc -isystem $sysroot/x86_64-elf/include -fno-pie -mno-red-zone -fno-stack-protector -fno-omit-frame-pointer)
if ((link)); then
  exec $real "\${flags[@]}" "\$@" -static -nostdlib -L$sysroot/x86_64-elf/lib -Wl,--start-group -lc -lm -lnosys \$($real -print-libgcc-file-name) -Wl,--end-group
fi
exec $real "\${flags[@]}" "\$@"
WRAP
  chmod +x "$bin/x86_64-elf-$name"
done
mkdir -p "$work/libstdcxx-build/libgcc" 
cp "$work/$top/libgcc/gthr-single.h" "$work/libstdcxx-build/libgcc/gthr-default.h"
(
  cd "$work/libstdcxx-build/x" 2>/dev/null || mkdir -p "$work/libstdcxx-build/x" && cd "$work/libstdcxx-build/x"
  export PATH="$bin:$PATH"
  log "libstdc++: configuring"
  CFLAGS="$guest_cflags" CXXFLAGS="$guest_cflags" \
  "../../$top/libstdc++-v3/configure" --build=x86_64-pc-linux-gnu --host=x86_64-elf \
    --target=x86_64-elf --prefix="$sysroot" --with-newlib --disable-shared --enable-static \
    --disable-multilib --disable-nls --disable-libstdcxx-pch --disable-libstdcxx-verbose \
    --disable-tls >"$work/libstdcxx-configure.log" 2>&1 || { tail -40 "$work/libstdcxx-configure.log" >&2; exit 1; }
  log "libstdc++: compiling (about 2 minutes)"
  make -j"$jobs" >"$work/libstdcxx-make.log" 2>&1 || { tail -40 "$work/libstdcxx-make.log" >&2; exit 1; }
  make install >"$work/libstdcxx-install.log" 2>&1
)
log "libstdc++: done in $(( $(date +%s) - start )) s"
# Debug info makes the archives 8x larger; keep symbols, drop DWARF.
strip --strip-debug "$sysroot"/lib/*.a "$sysroot"/x86_64-elf/lib/*.a 2>/dev/null || true
touch "$sysroot/.complete"
echo "$sysroot"
