#!/usr/bin/env bash
# Obtains the pinned source of a third-party Lua C module into third_party/modules/NAME/,
# verified by the SHA-256 of its Debian .orig.tar.gz. Never committed.
#
# usage: ci/fetch-module.sh NAME…       (known: lua-cjson, lua-lpeg; --all for both)
#
# Sources, first that works: MODULE_TARBALL=<file> (one NAME only; always verified and
# unpacked, even over a tree already there), the cached tarball
# in ${LUAHAMMER_CACHE:-~/.cache/luahammer}, Debian's source package (a deb-src entry is
# added when none exists; needs root).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache="${LUAHAMMER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/luahammer}"
say() { echo "fetch-module: $*" >&2; }
. "$root/ci/debian-source.sh"

# name -> Debian package, suite, orig tarball, sha256, top folder inside the tarball
pin() {
  case "$1" in
    lua-cjson) echo "lua-cjson bookworm lua-cjson_2.1.0+dfsg.orig.tar.gz 94f1fce36742cf00e99c5071b309b9f71e6e7daf60a7151f7bf4ac0a97259ac4 lua-cjson-2.1.0+dfsg" ;;
    lua-lpeg) echo "lua-lpeg trixie lua-lpeg_1.1.0.orig.tar.gz 4b155d67d2246c1ffa7ad7bc466c1ea899bbc40fef0257cc9c03cecbaed4352a lpeg-1.1.0" ;;
    *) return 1 ;;
  esac
}

fetch() {
  local name=$1 package suite orig sha top dest stamp file actual tmp from
  read -r package suite orig sha top <<<"$(pin "$name")"
  dest="$root/third_party/modules/$name"; stamp="$dest/.luahammer-sha256"
  if [ -z "${MODULE_TARBALL:-}" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sha" ]; then
    say "$name already in third_party/modules/$name"; return 0
  fi
  mkdir -p "$root/third_party/modules" "$cache" 2>/dev/null || true
  tmp=$(mktemp -d "$root/third_party/modules/.fetch.XXXXXX")
  if [ -n "${MODULE_TARBALL:-}" ]; then
    [ -f "$MODULE_TARBALL" ] || { rm -rf "$tmp"; say "MODULE_TARBALL=$MODULE_TARBALL: no such file"; return 1; }
    file=$MODULE_TARBALL; from="MODULE_TARBALL"
  elif [ -f "$cache/$orig" ] && [ "$(sha256sum "$cache/$orig" | cut -d' ' -f1)" = "$sha" ]; then
    file="$cache/$orig"; from="cache"
  elif debian_orig "$package" "$suite" "$orig" "$tmp"; then
    file="$tmp/$orig"; from="Debian source package $package/$suite"
  else
    rm -rf "$tmp"
    say "no source for $name: set MODULE_TARBALL=<$orig>, or run as root with Debian's package sources reachable"
    return 1
  fi
  actual=$(sha256sum "$file" | cut -d' ' -f1)
  if [ "$actual" != "$sha" ]; then
    rm -rf "$tmp"; say "checksum mismatch for $file: expected $sha, actual $actual ($name)"; return 1
  fi
  tar -xzf "$file" -C "$tmp" && [ -d "$tmp/$top" ] || { rm -rf "$tmp"; say "$file does not hold $top/"; return 1; }
  if [ "$from" != cache ]; then
    { cp "$file" "$cache/$orig.tmp" && mv "$cache/$orig.tmp" "$cache/$orig"; } 2>/dev/null || true
  fi
  rm -rf "$dest"; mv "$tmp/$top" "$dest"; rm -rf "$tmp"
  echo "$sha" > "$stamp"
  say "$name ready in third_party/modules/$name (from $from)"
}

[ $# -gt 0 ] || { echo "fetch-module: which module? (see --help)" >&2; exit 2; }
names=()
for a in "$@"; do
  case "$a" in
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --all) names+=(lua-cjson lua-lpeg) ;;
    *) pin "$a" >/dev/null || { echo "fetch-module: unknown module '$a' (known: lua-cjson, lua-lpeg)" >&2; exit 2; }
       names+=("$a") ;;
  esac
done
status=0
for n in "${names[@]}"; do fetch "$n" || status=1; done
exit $status
