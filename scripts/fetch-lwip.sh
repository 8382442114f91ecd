#!/usr/bin/env bash
# Puts lwIP 2.1.3's pristine source tarball (Debian's lwip_2.1.3+dfsg1.orig.tar.xz)
# into subprojects/packagecache/, where meson's wrap-file (subprojects/lwip.wrap)
# finds it without network access. Idempotent: a tarball with the right hash is
# kept, and the deb-src entry is only added when no deb-src source exists.
#
#   scripts/fetch-lwip.sh
# Run as root, or as a user with sudo for the apt steps.
set -euo pipefail
cd "$(dirname "$0")/.."

tarball=lwip_2.1.3+dfsg1.orig.tar.xz
sha256=0a8276d09fc4e97bbba2f953d74af2388fc2195ea156be9d7589e297a68fde24
cache=subprojects/packagecache
say() { printf '\033[1m[fetch-lwip]\033[0m %s\n' "$*"; }

hash_ok() { [[ -f $1 ]] && echo "$sha256  $1" | sha256sum --check --status; }

if hash_ok "$cache/$tarball"; then
  say "$cache/$tarball: present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "fetch-lwip: need root (or sudo) for apt" >&2; exit 1; }
  sudo=sudo
fi

# apt-get source needs deb-src indexes. Debian 12 images usually ship only "deb".
have_deb_src() {
  grep -Eqs '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list ||
    grep -Eqs '^[[:space:]]*Types:.*deb-src' /etc/apt/sources.list.d/*.sources
}
if ! have_deb_src; then
  say "adding /etc/apt/sources.list.d/atoll-deb-src.sources"
  $sudo tee /etc/apt/sources.list.d/atoll-deb-src.sources >/dev/null <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  $sudo apt-get update -qq
elif ! apt-get source --download-only --print-uris lwip >/dev/null 2>&1; then
  $sudo apt-get update -qq
fi

# Download into a scratch directory (apt-get source writes to the current one)
# and keep only the orig tarball; Debian's patches are not needed.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# As root, apt downloads as its unprivileged _apt user, which must own the directory.
[[ $(id -u) -eq 0 ]] && id _apt >/dev/null 2>&1 && chown _apt "$scratch"
say "downloading the lwip source package"
(cd "$scratch" && apt-get source --download-only -qq lwip >/dev/null)
mkdir -p "$cache"
if ! hash_ok "$scratch/$tarball"; then
  echo "fetch-lwip: $tarball missing or its sha256 is not $sha256" >&2
  exit 1
fi
mv "$scratch/$tarball" "$cache/$tarball"
say "$cache/$tarball: ok"
