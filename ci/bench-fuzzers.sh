#!/usr/bin/env bash
# Measures each fuzz target for SECONDS (default 60) under the fuzz preset, one at a
# time, from its seed corpus into a scratch corpus: exec/s, edge coverage (cov:),
# corpus size and findings, next to the classic Lua target (baseline_lua_source, started
# from the lua_source seeds); then the CPU-seconds (user + system) of exactly 10,000
# executions from the seeds with -seed=1, which, unlike exec/s, holds on a loaded machine.
# Prints a Markdown table; --write puts it in docs/performance.md. The fuzzers run with
# the campaign's sanitizer options (ASAN_OPTIONS as the nightly sets them, unless set).
# usage: ci/bench-fuzzers.sh [--seconds S] [--write] [targets…]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
seconds=60; write=0; targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) [ $# -ge 2 ] || { echo "bench-fuzzers.sh: --seconds needs a value" >&2; exit 2; }
               seconds=$2; shift 2 ;;
    --write) write=1; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench-fuzzers.sh: unknown option '$1'" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "bench-fuzzers.sh: --seconds must be a whole number" >&2; exit 2; }
# Every row of the registry (fuzz/targets.def), the comparison targets included.
[ ${#targets[@]} -gt 0 ] ||
  mapfile -t targets < <(sed -n 's/^LUAHAMMER_FUZZ_TARGET(\([a-z_0-9]*\),.*/\1/p' fuzz/targets.def)

cmake --preset fuzz >/dev/null && cmake --build --preset fuzz >/dev/null || { echo "bench-fuzzers.sh: fuzz preset failed to build" >&2; exit 2; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-$(python3 -c 'import sys; sys.path.insert(0, "ci"); import campaign; print(campaign.FUZZ_ASAN_OPTIONS)')}
table="| target | exec/s | CPU-s / 10,000 execs | cov (edges) | corpus | findings |\n|---|---:|---:|---:|---:|---:|\n"
status=0
for t in "${targets[@]}"; do
  bin=build/fuzz/fuzz/${t}_fuzzer
  [ -x "$bin" ] || { echo "bench-fuzzers.sh: no fuzz target '$t'" >&2; exit 2; }
  seeds=corpus/$t; [ "$t" = baseline_lua_source ] && seeds=corpus/lua_source
  mkdir -p "$work/$t" "$work/$t-artifacts"
  # The target's own libFuzzer options (fuzz/<t>.options, [libfuzzer] section), as the
  # nightly and ClusterFuzz run it; the dict path made relative to the checkout.
  flags=()
  while IFS= read -r line; do flags+=("$line"); done < <(bash ci/fuzz-options.sh "$t")
  "$bin" "${flags[@]}" -max_total_time="$seconds" -seed=1 -print_final_stats=1 -artifact_prefix="$work/$t-artifacts/" \
    "$work/$t" "$seeds" >"$work/$t.log" 2>&1
  last=$(grep -E '^#[0-9]+' "$work/$t.log" | tail -1)
  execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$work/$t.log" | grep -oE '[0-9]+$')
  elapsed=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$work/$t.log" | grep -oE 'in [0-9]+' | grep -oE '[0-9]+')
  rate=$(echo "$last" | grep -oE 'exec/s: [0-9]+' | grep -oE '[0-9]+')
  [ -n "$execs" ] && [ -n "$elapsed" ] && [ "$elapsed" -gt 0 ] && rate=$((execs / elapsed))
  cov=$(echo "$last" | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+')
  corpus=$(echo "$last" | grep -oE 'corp: [0-9]+' | grep -oE '[0-9]+')
  findings=$(find "$work/$t-artifacts" -type f | wc -l)
  [ "$findings" -eq 0 ] || { status=1; echo "bench-fuzzers.sh: $t: finding: $(grep -m1 -E '^(luahammer|==[0-9]+==ERROR|SUMMARY)' "$work/$t.log")" >&2; }
  # CPU time of a fixed amount of work: 10,000 runs from the seeds, same seed.
  mkdir -p "$work/$t-cpu"
  /usr/bin/time -f '%U %S' -o "$work/$t.cpu" "$bin" "${flags[@]}" -runs=10000 -seed=1 \
    -artifact_prefix="$work/$t-artifacts/" "$work/$t-cpu" "$seeds" >"$work/$t.cpu.log" 2>&1
  cpu=$(awk '{printf "%.1f", $1 + $2}' "$work/$t.cpu")
  echo "bench: $t: ${rate:-?} exec/s, ${cpu:-?} CPU-s per 10,000 executions, cov ${cov:-?}, corpus ${corpus:-?}, findings $findings" >&2
  table+="| $t | ${rate:-?} | ${cpu:-?} | ${cov:-?} | ${corpus:-?} | $findings |\n"
done
printf "%b" "$table"
if [ "$write" = 1 ]; then
  # Replaces the part of docs/performance.md between the bench-fuzzers markers (or the
  # whole file when it has none); the sections after it are kept.
  {
    echo "<!-- bench-fuzzers:begin -->"
    echo "# Fuzz target performance"
    echo
    echo "Each target ran alone for ${seconds} s under the \`fuzz\` preset (libFuzzer + ASan + UBSan, -O2), one"
    echo "core, from its seed corpus, \`-seed=1\`, on $(nproc) cores / $(free -g | awk '/Mem:/ {print $2}') GiB; measured $(date -u +%Y-%m-%d)."
    echo "\`baseline_lua_source\` is the classic Lua target: a fresh \`luaL_newstate\` per input, the sandboxed"
    echo "library set, \`luaL_loadbufferx\` in text mode and \`lua_pcall\`, no binding and no oracles."
    echo
    printf "%b" "$table"
    echo
    echo "Command: \`ci/bench-fuzzers.sh --seconds ${seconds} --write\`"
    echo "<!-- bench-fuzzers:end -->"
    [ -f docs/performance.md ] && grep -q 'bench-fuzzers:end' docs/performance.md &&
      sed '1,/<!-- bench-fuzzers:end -->/d' docs/performance.md
  } > docs/performance.md.tmp && mv docs/performance.md.tmp docs/performance.md
fi
exit $status
