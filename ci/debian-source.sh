# shellcheck shell=bash
# Sourced by ci/fetch-lua.sh and ci/fetch-module.sh: fetches the .orig.tar.gz of a Debian
# source package. The deb-src entry it may add reuses the URI of the machine's own Debian
# entry, so a mirror configured here keeps being used.
#
# debian_orig PACKAGE SUITE ORIG_FILE_NAME DEST_DIR   -> DEST_DIR/ORIG_FILE_NAME, or status 1
# SUITE is a suite's name, or =VERSION (apt-get source PACKAGE=VERSION: a package whose
# older version in another suite is no longer on the mirror, where PACKAGE/SUITE fails).

debian_uri() {
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}'
  } | grep -v -- '-security' | grep -m1 debian || true
}

debian_orig() {
  local package=$1 suite=$2 orig=$3 dest=$4 list uri work
  command -v apt-get >/dev/null || return 1
  list=/etc/apt/sources.list.d/luahammer-deb-src.sources
  if ! apt-cache showsrc "$package" 2>/dev/null | grep " $orig\$" >/dev/null; then
    [ "$(id -u)" = 0 ] || return 1
    uri=$(debian_uri); [ -n "$uri" ] || return 1
    if [ ! -f "$list" ] || ! grep -q "trixie" "$list"; then
      printf 'Types: deb-src\nURIs: %s\nSuites: bookworm trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$uri" > "$list"
    fi
    apt-get update -qq >/dev/null 2>&1 || return 1
  fi
  work=$(mktemp -d)
  # The .orig tarball is all that is used (checksummed by the caller): a mirror that lacks
  # the Debian patch tarball fails the command but still serves it.
  local which="$package/$suite"
  [ "${suite#=}" != "$suite" ] && which="$package$suite"
  ( cd "$work" && apt-get source --download-only -qq "$which" >/dev/null 2>&1 ) || true
  [ -f "$work/$orig" ] || { rm -rf "$work"; return 1; }
  mv "$work/$orig" "$dest/$orig"
  rm -rf "$work"
}
