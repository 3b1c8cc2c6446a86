#!/usr/bin/env bash
# Runs .clusterfuzzlite/build.sh outside Docker with the environment OSS-Fuzz's base
# builder sets for an ASan + libFuzzer build, then checks what it wrote to $OUT: every
# fuzz target with its .options, .dict and _seed_corpus.zip, each running 100 inputs.
# (The base image also adds -stdlib=libc++; Debian's clang here uses libstdc++.)
#
# usage: ci/ossfuzz-local.sh [--keep]     (--keep: leave build/ossfuzz-local/ in place)
# Exit status: 0 the layout is complete and every target runs, 1 otherwise, 2 usage.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
keep=0
case "${1:-}" in
  "") ;;
  --keep) keep=1 ;;
  -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "ossfuzz-local.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

scratch="$root/build/ossfuzz-local"   # stable path: ccache hits across runs
rm -rf "$scratch/out"; mkdir -p "$scratch/out" "$scratch/work"
export CC=clang CXX=clang++ SRC="$root/.." WORK="$scratch/work" OUT="$scratch/out"
export SANITIZER=address FUZZING_ENGINE=libfuzzer ARCHITECTURE=x86_64
export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -fsanitize=address -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
export CXXFLAGS="$CFLAGS"
export LIB_FUZZING_ENGINE="-fsanitize=fuzzer"

if ! bash "$root/.clusterfuzzlite/build.sh" >"$scratch/build.log" 2>&1; then
  tail -20 "$scratch/build.log"
  echo "ossfuzz-local: build.sh failed (log: $scratch/build.log)" >&2
  exit 1
fi

failed=0; checked=0
mapfile -t names < <(sed -n 's/^LUAHAMMER_FUZZ_TARGET(\([a-z_0-9]*\), *\(op\|own\),.*/\1/p' "$root/fuzz/targets.def")
for name in "${names[@]}"; do
  checked=$((checked + 1))
  for f in "$name" "$name.options" "$name.dict" "${name}_seed_corpus.zip"; do
    [ -s "$OUT/$f" ] || { echo "ossfuzz-local: $name: \$OUT/$f is missing"; failed=1; }
  done
  [ -x "$OUT/$name" ] || continue
  corpus="$scratch/corpus/$name"; rm -rf "$corpus"; mkdir -p "$corpus"
  unzip -q -o "$OUT/${name}_seed_corpus.zip" -d "$corpus" 2>/dev/null
  # -runs counts the seeds too, and libFuzzer runs every seed first: a target with more
  # than 100 seeds reports more runs than asked for.
  runs=0
  if (cd "$OUT" && ./"$name" -runs=100 -seed=1 -dict="$name.dict" "$corpus" >"$scratch/$name.log" 2>&1); then
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$scratch/$name.log" | tail -1)
  fi
  if [ "${runs:-0}" -ge 100 ]; then
    echo "ossfuzz-local: $name: ok ($(unzip -Z1 "$OUT/${name}_seed_corpus.zip" | wc -l) seeds, $runs runs)"
  else
    echo "ossfuzz-local: $name: did not run 100 inputs cleanly (log: $scratch/$name.log)"
    failed=1
  fi
done
extra=$(find "$OUT" -maxdepth 1 -type f -perm -u+x -name 'baseline*' | wc -l)
[ "$extra" -eq 0 ] || { echo "ossfuzz-local: \$OUT carries the baseline target"; failed=1; }
[ "$keep" = 1 ] || rm -rf "$scratch/corpus"
if [ "$failed" = 0 ]; then
  echo "ossfuzz-local: passed: $checked targets in \$OUT, each with options, dict and seed corpus, each ran 100 inputs"
else
  echo "ossfuzz-local: FAILED"
fi
exit $failed
