#!/usr/bin/env bash
# Adds seeds to the op-program fuzz targets' corpora (corpus/<target>/) with make_seeds,
# deterministically: for what the seeds there do not cover yet (a new op, variant or
# snippet); the seeds there are kept. --fresh regenerates every seed from nothing.
# Hand-written seeds (corpus/lua_source/) are left alone.
# usage: ci/make-seeds.sh [--fresh] [PRESET]   (default: asan)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fresh=0
if [ "${1:-}" = --fresh ]; then fresh=1; shift; fi
case "${1:-}" in -*) echo "make-seeds.sh: unknown option '$1' (usage: ci/make-seeds.sh [--fresh] [PRESET])" >&2; exit 2 ;; esac
preset=${1:-asan}
cd "$root"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" --target make_seeds >/dev/null
tool=$(find "build/$preset" -type f -name make_seeds -perm -u+x | head -1)
# The op-program targets of the registry (fuzz/targets.def).
mapfile -t targets < <(sed -n 's/^LUAHAMMER_FUZZ_TARGET(\([a-z_0-9]*\), *op,.*/\1/p' fuzz/targets.def)
for target in "${targets[@]}"; do
  [ $fresh = 1 ] && rm -rf "corpus/$target"
  mkdir -p "corpus/$target"
  "$tool" "$target" "corpus/$target"
done
