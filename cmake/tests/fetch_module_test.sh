#!/usr/bin/env bash
# ci/fetch-module.sh refuses a corrupt tarball and an unknown module, each with one clear
# line and a non-zero exit, and leaves an existing source tree alone.
set -u
fetch=$1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf 'not a tarball' > "$tmp/corrupt.tar.gz"
tree=$(dirname "$fetch")/../third_party/modules/lua-lpeg
before=$(ls "$tree" 2>/dev/null | wc -l)

out=$(MODULE_TARBALL="$tmp/corrupt.tar.gz" bash "$fetch" lua-lpeg 2>&1); rc=$?
[ $rc -eq 1 ] || { echo "FAIL: corrupt tarball: exit $rc"; exit 1; }
echo "$out" | grep -q 'checksum mismatch.*expected 4b155d67.*actual' ||
  { echo "FAIL: no checksum message, got: $out"; exit 1; }
[ "$(echo "$out" | wc -l)" -eq 1 ] || { echo "FAIL: more than one line: $out"; exit 1; }
[ "$(ls "$tree" 2>/dev/null | wc -l)" -eq "$before" ] || { echo "FAIL: the existing tree changed"; exit 1; }

out=$(bash "$fetch" lua-nope 2>&1); rc=$?
[ $rc -eq 2 ] || { echo "FAIL: unknown module exit $rc"; exit 1; }
echo "$out" | grep -q "unknown module 'lua-nope'" || { echo "FAIL: got: $out"; exit 1; }
echo "fetch-module refuses bad input: ok"
