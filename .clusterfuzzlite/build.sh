#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build. The contract: the environment gives $CC $CXX $CFLAGS
# $CXXFLAGS (sanitizer and coverage instrumentation) and $LIB_FUZZING_ENGINE; we write to
# $OUT every fuzz target (no extension) with <target>.options, <target>.dict and
# <target>_seed_corpus.zip. ci/ossfuzz-local.sh runs this script outside Docker.
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ -f "$src/CMakeLists.txt" ] || src=$SRC/luahammer
build=${WORK:-/tmp}/luahammer-build

bash "$src/ci/fetch-lua.sh" 5.4.7
cmake -S "$src" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DLUAHAMMER_FUZZING=ON -DLUAHAMMER_FUZZING_ENGINE="$LIB_FUZZING_ENGINE" \
  -DLUAHAMMER_BUILD_TESTS=OFF -DLUAHAMMER_WERROR=OFF -DLUAHAMMER_PRESET=oss-fuzz
cmake --build "$build" --target luahammer_fuzzers

# Every campaign target of the build's manifest (luahammer-targets.tsv, written by CMake
# from the fuzz target registry, fuzz/targets.def); comparison targets are yardsticks
# for docs/performance.md, not worth fuzzing time.
while IFS=$'\t' read -r name role fuzzer _replay seeds _regressions options; do
  [ "$role" = campaign ] || continue
  cp "$fuzzer" "$OUT/$name"
  cp "$options" "$OUT/$name.options"
  cp "$(dirname "$options")/$(sed -n 's/^dict *= *//p' "$options")" "$OUT/$name.dict"
  rm -f "$OUT/${name}_seed_corpus.zip"
  if [ -d "$seeds" ]; then
    (cd "$seeds" && zip -q -j "$OUT/${name}_seed_corpus.zip" ./*)
  fi
done < <(grep -v '^#' "$build/luahammer-targets.tsv")
