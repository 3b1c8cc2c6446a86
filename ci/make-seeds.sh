#!/usr/bin/env bash
# Regenerates the seed corpora of the op-program fuzz targets (corpus/<target>/) with
# make_seeds, deterministically. Hand-written seeds (corpus/lua_source/) are left alone.
# usage: ci/make-seeds.sh [PRESET]   (default: asan)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
preset=${1:-asan}
cd "$root"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" --target make_seeds >/dev/null
tool=$(find "build/$preset" -type f -name make_seeds -perm -u+x | head -1)
# The op-program targets of the registry (fuzz/targets.def).
mapfile -t targets < <(sed -n 's/^LUAHAMMER_FUZZ_TARGET(\([a-z_0-9]*\), *op,.*/\1/p' fuzz/targets.def)
for target in "${targets[@]}"; do
  rm -rf "corpus/$target"
  mkdir -p "corpus/$target"
  "$tool" "$target" "corpus/$target"
done
