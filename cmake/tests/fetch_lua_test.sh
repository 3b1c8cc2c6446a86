#!/usr/bin/env bash
# ci/fetch-lua.sh refuses a corrupt tarball and an unknown version, each with one clear
# line and a non-zero exit, and leaves the existing source tree alone.
set -u
fetch=$1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf 'not a tarball' > "$tmp/corrupt.tar.gz"

out=$(LUA_TARBALL="$tmp/corrupt.tar.gz" bash "$fetch" 5.4.7 2>&1); rc=$?
[ $rc -ne 0 ] || { echo "FAIL: corrupt tarball accepted"; exit 1; }
echo "$out" | grep -q 'checksum mismatch.*expected 9fbf5e28.*actual' ||
  { echo "FAIL: no checksum message, got: $out"; exit 1; }
[ "$(echo "$out" | wc -l)" -eq 1 ] || { echo "FAIL: more than one line: $out"; exit 1; }

out=$(bash "$fetch" 5.3.0 2>&1); rc=$?
[ $rc -eq 2 ] || { echo "FAIL: unknown version exit $rc"; exit 1; }
echo "$out" | grep -q "unknown Lua version '5.3.0'" || { echo "FAIL: got: $out"; exit 1; }
# LUA_SOURCE_DIR naming the destination itself (here through a symlink) leaves it whole.
root=$(cd "$(dirname "$fetch")/.." && pwd)
src="$root/third_party/lua-5.4.7"
if [ -f "$src/src/lua.h" ]; then
  ln -s "$src" "$tmp/link"
  out=$(LUA_SOURCE_DIR="$tmp/link" bash "$fetch" 5.4.7 2>&1); rc=$?
  [ $rc -eq 0 ] && [ -f "$src/src/lua.h" ] ||
    { echo "FAIL: LUA_SOURCE_DIR equal to the destination: exit $rc, source gone? $out"; exit 1; }
fi
echo "fetch-lua refuses bad input: ok"
