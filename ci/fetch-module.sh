#!/usr/bin/env bash
# Obtains the pinned source of a third-party Lua C module into third_party/modules/NAME/,
# verified by the SHA-256 of its Debian .orig.tar.gz. Never committed.
#
# usage: ci/fetch-module.sh NAME…       (--all for every module known below; --list names them)
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

known=(lua-cjson lua-lpeg lua-filesystem lua-socket lua-cmsgpack lua-expat lua-zlib lua-struct lua-iconv lua-term lua-posix lua-luaossl)
# name -> Debian package, suite (or =VERSION where the suite's name does not find it),
# orig tarball, sha256, top folder inside the tarball ("." when the tarball has none)
pin() {
  case "$1" in
    lua-cjson) echo "lua-cjson bookworm lua-cjson_2.1.0+dfsg.orig.tar.gz 94f1fce36742cf00e99c5071b309b9f71e6e7daf60a7151f7bf4ac0a97259ac4 lua-cjson-2.1.0+dfsg" ;;
    lua-lpeg) echo "lua-lpeg trixie lua-lpeg_1.1.0.orig.tar.gz 4b155d67d2246c1ffa7ad7bc466c1ea899bbc40fef0257cc9c03cecbaed4352a lpeg-1.1.0" ;;
    lua-filesystem) echo "lua-filesystem bookworm lua-filesystem_1.8.0.orig.tar.gz a1b7cf748ef2cdb6d75ebaa82a9c91b383fabc541b96febb1f9de98f06b8c188 lua-filesystem-1.8.0" ;;
    lua-socket) echo "lua-socket bookworm luasocket_3.1.0.orig.tar.gz 35a6819789b51d94a52e6cee12f07cb17cf02927438d76c31231db06bbf31f0b luasocket-3.1.0" ;;
    lua-cmsgpack) echo "lua-cmsgpack trixie lua-cmsgpack_0.4.0~git20230328.57b1f90.orig.tar.gz 2cd8dfe473d37b588317387f5a51ea0f400969e27563e02fee7e493d24de380d lua-cmsgpack-master" ;;
    lua-expat) echo "lua-expat trixie lua-expat_1.5.2.orig.tar.gz 89d83f2141edec31be576425637216928221918fe95dc3854d1b7fd4c627213f luaexpat-1.5.2" ;;
    lua-zlib) echo "lua-zlib trixie lua-zlib_1.3.orig.tar.gz d0ee0a383ffd9d63241b6a9eaa4c5054cc48eb93b534ac5d3afd0ea0984d0afc lua-zlib-1.3" ;;
    lua-struct) echo "lua-struct trixie lua-struct_0.3.orig.tar.gz 1669dda189f87cf8b180652411a9974d9327367f762c290962fa0d89530707f6 ." ;;
    lua-iconv) echo "lua-iconv bookworm lua-iconv_7.orig.tar.gz d29f7dae861e55280bed0b5cc12336b0407d937df3299c9afd6c8180f62f3a2f ittner-lua-iconv-466b58d" ;;
    lua-term) echo "lua-term bookworm lua-term_0.07.orig.tar.gz c1a1d0c57107147ea02878a50b768d1c3c13aca2769b026c5bb7a84119607f30 lua-term-0.07" ;;
    lua-luaossl) echo "lua-luaossl bookworm lua-luaossl_20220711.orig.tar.gz f16c4cd2c880f270c1c73daa0a4bfdd11ae3155b92a2086863731e06d241300b luaossl-rel-20220711" ;;
    lua-posix) echo "lua-posix =36.3-1 lua-posix_36.3.orig.tar.gz 82cd9a96c41a4a3205c050206f0564ff4456f773a8f9ffc9235ff8f1907ca5e6 luaposix-36.3" ;;
    *) return 1 ;;
  esac
}

fetch() {
  local name=$1 package suite orig sha top dest stamp file actual tmp from into
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
  into=$tmp
  if [ "$top" = . ]; then top=unpacked; into="$tmp/$top"; mkdir "$into"; fi
  tar -xzf "$file" -C "$into" && [ -d "$tmp/$top" ] || { rm -rf "$tmp"; say "$file does not hold $top/"; return 1; }
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
    --all) names+=("${known[@]}") ;;
    --list) printf '%s\n' "${known[@]}"; exit 0 ;;
    *) pin "$a" >/dev/null || { echo "fetch-module: unknown module '$a' (known: ${known[*]})" >&2; exit 2; }
       names+=("$a") ;;
  esac
done
status=0
for n in "${names[@]}"; do fetch "$n" || status=1; done
exit $status
