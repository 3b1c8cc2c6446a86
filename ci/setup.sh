#!/usr/bin/env bash
# Idempotent machine setup for a Debian/Ubuntu host: installs whatever Debian packages
# are missing, then fetches the pinned Lua source. Quick when everything is there.
#
# usage: ci/setup.sh [LUA_VERSION…]     (default: 5.4.7)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  clang libclang-rt-14-dev llvm        # compiler, libFuzzer + sanitizer runtimes, llvm-cov/profdata
  g++ cmake ninja-build ccache         # build
  libgtest-dev libgmock-dev libbenchmark-dev  # tests and benchmarks
  clang-format clang-tidy shellcheck python3-pyflakes  # ci/lint.sh
  ca-certificates curl xz-utils git python3 bc time
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'ok installed' >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

versions=("$@"); [ ${#versions[@]} -gt 0 ] || versions=(5.4.7)
for v in "${versions[@]}"; do "$root/ci/fetch-lua.sh" "$v"; done
echo "setup: ready ($(clang --version | head -1); $(cmake --version | head -1))" >&2
