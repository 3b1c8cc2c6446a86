#!/usr/bin/env bash
# The main job: a fuzz campaign over every fuzz target, with a summary at the end.
# Builds the fuzz preset (libFuzzer + ASan + UBSan) and gives each target an equal share
# of the budget, starting from corpus/<target>/ plus the working corpus in <out>.
#
# usage: ci/nightly.sh [--minutes M] [--jobs J] [--targets a,b] [--out DIR]
# Exit status: 0 clean, 1 crashes found, 2 setup or usage error.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

minutes=3; jobs=1; targets=""; out="$root/out/nightly"
need() { [ $# -ge 2 ] || { echo "nightly.sh: $1 needs a value (see --help)" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) need "$@"; minutes=$2; shift 2 ;;
    --jobs) need "$@"; jobs=$2; shift 2 ;;
    --targets) need "$@"; targets=$2; shift 2 ;;
    --out) need "$@"; out=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "nightly.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$minutes" =~ ^[0-9]+$ && "$minutes" -gt 0 ]] || { echo "nightly.sh: --minutes must be a positive integer, got '$minutes'" >&2; exit 2; }
[[ "$jobs" =~ ^[0-9]+$ && "$jobs" -gt 0 ]] || { echo "nightly.sh: --jobs must be a positive integer, got '$jobs'" >&2; exit 2; }

bash ci/setup.sh || { echo "nightly.sh: setup failed" >&2; exit 2; }
{ cmake --preset fuzz >/dev/null && cmake --build --preset fuzz >/dev/null; } ||
  { echo "nightly.sh: the fuzz preset failed to build (cmake --build --preset fuzz)" >&2; exit 2; }

# baseline_lua_source exists to be compared with (docs/performance.md), not to be fuzzed.
mapfile -t built < <(find build/fuzz -type f -perm -u+x -name '*_fuzzer' -printf '%f\n' | grep -v '^baseline_' | sort)
if [ -n "$targets" ]; then
  IFS=, read -ra wanted <<<"$targets"
  for t in "${wanted[@]}"; do
    printf '%s\n' "${built[@]}" | grep -qx "${t}_fuzzer" || { echo "nightly.sh: no fuzz target '$t'" >&2; exit 2; }
  done
  built=("${wanted[@]/%/_fuzzer}")
fi
if [ ${#built[@]} -eq 0 ]; then
  echo "nightly.sh: no fuzz targets are built yet; nothing to run (summary: 0 targets, 0 crashes)"
  exit 0
fi

mkdir -p "$out"
share=$(( minutes * 60 / ${#built[@]} )); [ "$share" -gt 0 ] || share=1
crashes=0
for bin in "${built[@]}"; do
  t=${bin%_fuzzer}
  path=$(find build/fuzz -type f -name "$bin" | head -1)
  mkdir -p "$out/corpus/$t" "$out/crashes/$t"
  echo "nightly: $t for ${share} s"
  "$path" -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$share" -artifact_prefix="$out/crashes/$t/" \
    "$out/corpus/$t" $( [ -d "corpus/$t" ] && echo "corpus/$t" ) >"$out/$t.log" 2>&1
  found=$(find "$out/crashes/$t" -type f | wc -l)
  crashes=$((crashes + found))
  echo "nightly: $t: $(grep -E '^#[0-9]+' "$out/$t.log" | tail -1) crashes=$found"
done
echo "nightly: summary: ${#built[@]} targets, $crashes crash files in $out/crashes"
[ "$crashes" -eq 0 ] || exit 1
