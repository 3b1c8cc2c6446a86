#!/usr/bin/env bash
# Obtains the pinned Lua 5.4 source into third_party/lua-<version>/, verified by the
# SHA-256 of the upstream tarball. Lua's source is never committed.
#
# usage: ci/fetch-lua.sh [VERSION]        (default 5.4.7; known: 5.4.7, 5.4.4)
#
# Sources, first that works:
#   1. LUA_TARBALL=<file.tar.gz>  or  LUA_SOURCE_DIR=<unpacked lua-x.y.z>
#   2. the cached tarball in ${LUAHAMMER_CACHE:-~/.cache/luahammer}
#   3. Debian's source package lua5.4 (its .orig.tar.gz is the upstream tarball);
#      a deb-src entry is added when none exists (needs root)
#   4. the upstream download, when a network is there
set -euo pipefail

version=${1:-5.4.7}
case "$version" in
  5.4.7) expected=9fbf5e28ef86c69858f6d3d34eccc32e911c1a28b4120ff3e84aaa70cfbf1e30; suite=trixie ;;
  5.4.4) expected=164c7849653b80ae67bec4b7473b884bf5cc8d2dca05653475ec2ed27b9ebf61; suite=bookworm ;;
  -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "fetch-lua: unknown Lua version '$version' (known: 5.4.7, 5.4.4)" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/third_party/lua-$version"
stamp="$dest/.luahammer-sha256"
cache="${LUAHAMMER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/luahammer}"
cached="$cache/lua-$version.tar.gz"

say() { echo "fetch-lua: $*" >&2; }
die() { say "$*"; exit 1; }

# Checks a tarball against the pin; one line naming both checksums on mismatch.
verify() {
  local file=$1 actual
  actual=$(sha256sum "$file" | cut -d' ' -f1)
  [ "$actual" = "$expected" ] ||
    die "checksum mismatch for $file: expected $expected, actual $actual (Lua $version)"
}

unpack() {
  local file=$1 tmp
  verify "$file"
  tmp=$(mktemp -d "$root/third_party/.unpack.XXXXXX")
  tar -xzf "$file" -C "$tmp" || { rm -rf "$tmp"; die "cannot unpack $file"; }
  [ -f "$tmp/lua-$version/src/lua.h" ] || { rm -rf "$tmp"; die "$file does not hold lua-$version/src/lua.h"; }
  rm -rf "$dest"
  mv "$tmp/lua-$version" "$dest"
  rm -rf "$tmp"
  echo "$expected" > "$stamp"
  mkdir -p "$cache" 2>/dev/null && [ "$file" != "$cached" ] && cp "$file" "$cached.tmp" 2>/dev/null &&
    mv "$cached.tmp" "$cached" || true
  say "Lua $version ready in third_party/lua-$version (from $2)"
}

mkdir -p "$root/third_party"

if [ -n "${LUA_TARBALL:-}" ]; then
  [ -f "$LUA_TARBALL" ] || die "LUA_TARBALL=$LUA_TARBALL: no such file"
  unpack "$LUA_TARBALL" "LUA_TARBALL"; exit 0
fi

if [ -n "${LUA_SOURCE_DIR:-}" ]; then
  header="$LUA_SOURCE_DIR/src/lua.h"
  [ -f "$header" ] || die "LUA_SOURCE_DIR=$LUA_SOURCE_DIR has no src/lua.h"
  release=$(awk '/define LUA_VERSION_(MAJOR|MINOR|RELEASE)[ \t]/ {gsub(/"/,"",$3); v=v (v?".":"") $3} END {print v}' "$header")
  [ "$release" = "$version" ] || die "LUA_SOURCE_DIR=$LUA_SOURCE_DIR is Lua $release, expected $version"
  if [ "$(cd "$LUA_SOURCE_DIR" && pwd -P)" = "$(mkdir -p "$dest" && cd "$dest" && pwd -P)" ]; then
    say "LUA_SOURCE_DIR is third_party/lua-$version itself: left as it is"; exit 0
  fi
  tmp=$(mktemp -d "$root/third_party/.copy.XXXXXX")
  cp -R "$LUA_SOURCE_DIR/." "$tmp/" || { rm -rf "$tmp"; die "cannot copy $LUA_SOURCE_DIR"; }
  rm -rf "$dest" && mv "$tmp" "$dest"
  echo "unverified-source-dir" > "$stamp"
  say "Lua $version copied from LUA_SOURCE_DIR (not checksummed: a directory has no tarball hash)"
  exit 0
fi

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$expected" ] && [ -f "$dest/src/lua.h" ]; then
  say "Lua $version already in third_party/lua-$version"; exit 0
fi

if [ -f "$cached" ]; then
  if [ "$(sha256sum "$cached" | cut -d' ' -f1)" = "$expected" ]; then
    unpack "$cached" "cache"; exit 0
  fi
  say "ignoring corrupt cached tarball $cached"; rm -f "$cached"
fi

# Debian's source package (its .orig.tar.gz is the upstream tarball).
. "$root/ci/debian-source.sh"
from_debian() {
  local work; work=$(mktemp -d)
  debian_orig lua5.4 "$suite" "lua5.4_$version.orig.tar.gz" "$work" || { rm -rf "$work"; return 1; }
  unpack "$work/lua5.4_$version.orig.tar.gz" "Debian source package lua5.4/$suite"
  rm -rf "$work"
}
from_debian && exit 0

from_upstream() {
  command -v curl >/dev/null || return 1
  local tmp; tmp=$(mktemp)
  curl -fsSL --max-time 60 -o "$tmp" "https://www.lua.org/ftp/lua-$version.tar.gz" || { rm -f "$tmp"; return 1; }
  unpack "$tmp" "upstream download"
  rm -f "$tmp"
}
from_upstream && exit 0

die "no source for Lua $version: set LUA_TARBALL=<lua-$version.tar.gz>, or run as root with Debian's package sources reachable"
