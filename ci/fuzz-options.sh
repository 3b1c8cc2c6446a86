#!/usr/bin/env bash
# Prints a fuzz target's libFuzzer flags, one per line: the [libfuzzer] section of
# fuzz/<target>.options as the nightly and ClusterFuzz run it, the dict path made relative
# to the checkout. Used by ci/bench-fuzzers.sh and ci/canaries.sh, so that what they
# measure is what campaigns run.
# usage: ci/fuzz-options.sh TARGET
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 1 ] || { echo "usage: ci/fuzz-options.sh TARGET" >&2; exit 2; }
options="$root/fuzz/$1.options"
[ -f "$options" ] || { echo "fuzz-options.sh: no options file fuzz/$1.options" >&2; exit 2; }
awk -F' *= *' '/^\[/ {s=$0; next} s=="[libfuzzer]" && NF==2 && $1 !~ /^#/ {
  v=$2; if ($1=="dict") v="fuzz/" v; print "-" $1 "=" v }' "$options"
