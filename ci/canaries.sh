#!/usr/bin/env bash
# Proves the harness finds every catalogued bug (docs/bugs.md, docs/canaries.md):
# builds the canary presets once, then for each canary
#   1. its regression repro case must fail with the canary on (and all pass with it off);
#   2. the fuzz target or driver that should find it runs from the generic seed corpus
#      (never the canary's reproducer) with N seeds, each up to the budget; whether and
#      when it was found and the first report line are recorded;
#   3. canaries.json and canaries.md are written to the output folder.
# Exit status: 0 when every canary was found by its case and by at least one run;
# 1 otherwise; 2 on a usage or setup error.
# usage: ci/canaries.sh [--budget SECONDS] [--runs N] [--out DIR] [--cases-only] [names…]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2

budget=300; runs=5; out="$root/out/canaries"; cases_only=0; names=()
need_value() { [ $# -ge 2 ] || { echo "canaries.sh: $1 needs a value (see --help)" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --budget) need_value "$@"; budget=$2; shift 2 ;;
    --runs) need_value "$@"; runs=$2; shift 2 ;;
    --out) need_value "$@"; out=$2; shift 2 ;;
    --cases-only) cases_only=1; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "canaries.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
{ mkdir -p "$out" 2>/dev/null && [ -d "$out" ] && [ -w "$out" ]; } ||
  { echo "canaries.sh: cannot write results to --out $out" >&2; exit 2; }
[[ "$budget" =~ ^[0-9]+$ && "$budget" -gt 0 ]] || { echo "canaries.sh: --budget must be a positive number of seconds" >&2; exit 2; }
[[ "$runs" =~ ^[0-9]+$ && "$runs" -gt 0 ]] || { echo "canaries.sh: --runs must be a positive number" >&2; exit 2; }

# canary  regression-case-filter  detector (fuzz target, or driver:<name> on the tsan canary
# build): the rows of binding/include/cxxlua/canaries.def, the one table of canaries.
table=$(sed -n 's/^CXXLUA_CANARY_ROW(\([a-z_0-9]*\), *\([A-Za-z_0-9]*\), *\([a-z_:]*\),.*/\1 \2.* \3/p' \
  binding/include/cxxlua/canaries.def)
[ -n "$table" ] || { echo "canaries.sh: no rows in binding/include/cxxlua/canaries.def" >&2; exit 2; }
known=$(echo "$table" | awk '{print $1}')
if [ ${#names[@]} -eq 0 ]; then mapfile -t names < <(echo "$known"); fi
for n in "${names[@]}"; do
  grep -qxF -- "$n" <<<"$known" || { echo "canaries.sh: unknown canary '$n' (known: $(echo $known))" >&2; exit 2; }
done

bash ci/setup.sh >/dev/null 2>&1 || { echo "canaries.sh: setup failed (run ci/setup.sh)" >&2; exit 2; }
need_tsan=0
for n in "${names[@]}"; do awk -v n="$n" '$1 == n {print $3}' <<<"$table" | grep '^driver:' >/dev/null && need_tsan=1; done
for p in canary-fuzz $( [ $need_tsan = 1 ] && echo canary-tsan ); do
  { cmake --preset "$p" >/dev/null && cmake --build --preset "$p" >/dev/null; } ||
    { echo "canaries.sh: preset $p failed to build" >&2; exit 2; }
done

# As the nightly fuzzes: no allocation stacks (fuzz light); the canaries prove detection holds.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:malloc_context_size=0:quarantine_size_mb=64"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:history_size=4"
cases=build/canary-fuzz/repro/regression_cases
mkdir -p "$out"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
first_line() { grep -m1 -E '^(luahammer: |cxxlua: |==[0-9]+==ERROR|WARNING: ThreadSanitizer|.*Assertion .* failed|.*runtime error:|.*: Failure$|ERROR: libFuzzer)' "$1" |
  sed -E "s|$root/||g; s|(\.\./)+||g" | cut -c1-160 | sed -E "s/==[0-9]+==/==PID==/g; s/0x[0-9a-f]+/0x…/g; s/ \(pid=[0-9]+\)//"; }

# With no canary on, every case passes.
if ! env -u LUAHAMMER_CANARY "$cases" >"$work/clean.log" 2>&1; then
  echo "canaries.sh: regression cases fail without any canary: $(first_line "$work/clean.log")" >&2; exit 1
fi

status=0
json="["
md="| canary | detector | case | found | median s | max s | first report line |\n|---|---|---|---:|---:|---:|---|\n"
for n in "${names[@]}"; do
  filter=$(echo "$table" | awk -v n="$n" '$1 == n {print $2}')
  detector=$(echo "$table" | awk -v n="$n" '$1 == n {print $3}')
  ( LUAHAMMER_CANARY=$n timeout 120 "$cases" --gtest_filter="$filter" >"$work/$n.case.log" 2>&1; exit $? ) 2>/dev/null
  if [ $? -ne 0 ]; then case_ok=true; else case_ok=false; status=1; fi
  found=0; times=(); report=""
  if [ $cases_only = 0 ]; then
    for seed in $(seq 1 "$runs"); do
      log="$work/$n.$seed.log"
      start=$(date +%s.%N)
      if [[ "$detector" == driver:* ]]; then
        ( LUAHAMMER_CANARY=$n timeout $((budget + 30)) "build/canary-tsan/repro/${detector#driver:}" \
          --threads 8 --iterations 0 --seconds "$budget" --seed "$seed" --watchdog_ms 10000 >"$log" 2>&1; exit $? ) 2>/dev/null
        rc=$?
      else
        scratch="$work/$n.$seed.corpus"; mkdir -p "$scratch" "$work/$n.$seed.artifacts"
        # The target's own libFuzzer options (max_len, timeout, dict, entropic settings), as
        # campaigns fuzz: detection is proven under the settings that are run.
        flags=()
        while IFS= read -r line; do flags+=("$line"); done < <(bash ci/fuzz-options.sh "$detector")
        ( LUAHAMMER_CANARY=$n "build/canary-fuzz/fuzz/${detector}_fuzzer" "${flags[@]}" -seed="$seed" \
          -max_total_time="$budget" -artifact_prefix="$work/$n.$seed.artifacts/" \
          "$scratch" "corpus/$detector" >"$log" 2>&1; exit $? ) 2>/dev/null
        rc=$?
      fi
      elapsed=$(echo "$(date +%s.%N) - $start" | bc)
      # A timeout or a budget escape is no detection: only a finding counts.
      if [ $rc -ne 0 ] && first_line "$log" | grep -E 'luahammer: budget escape|libFuzzer: timeout' >/dev/null; then rc=0; fi
      if [ $rc -ne 0 ]; then
        found=$((found + 1)); times+=("$elapsed")
        [ -n "$report" ] || report=$(first_line "$log")
      fi
      echo "canaries: $n seed $seed: $([ $rc -ne 0 ] && printf 'found in %.1f s' "$elapsed" || echo "not found in ${budget} s")" >&2
    done
    [ "$found" -gt 0 ] || status=1
  fi
  median=""; max=""
  if [ ${#times[@]} -gt 0 ]; then
    mapfile -t sorted < <(printf '%s\n' "${times[@]}" | sort -g)
    median=$(printf '%.1f' "${sorted[$(( (${#sorted[@]} - 1) / 2 ))]}")
    max=$(printf '%.1f' "${sorted[-1]}")
  fi
  [ -n "$report" ] || report=$(first_line "$work/$n.case.log")
  echo "canaries: $n: case $($case_ok && echo fails as it must || echo PASSED WITH THE CANARY ON), found $found/$runs" >&2
  report_json=$(printf '%s' "$report" | sed 's/\\/\\\\/g; s/"/\\"/g')
  json+="$( [ "$json" = "[" ] || echo ,){\"canary\":\"$n\",\"detector\":\"$detector\",\"case_fails\":$case_ok,\"found\":$found,\"runs\":$runs,\"budget_s\":$budget,\"median_s\":${median:-null},\"max_s\":${max:-null},\"first_line\":\"$report_json\"}"
  report_md=$(printf '%s' "$report" | tr -d '\140' | sed 's/|/\\|/g')
  tick=$(printf '\140')
  md+="| $n | $detector | $($case_ok && echo fails || echo PASSES) | $found/$runs | ${median:--} | ${max:--} | ${tick}${report_md}${tick} |\n"
done
json+="]"
printf '%s\n' "$json" > "$out/canaries.json.tmp" && mv "$out/canaries.json.tmp" "$out/canaries.json"
printf "%b" "$md" > "$out/canaries.md.tmp" && mv "$out/canaries.md.tmp" "$out/canaries.md"
printf "%b" "$md"
echo "canaries.sh: results in $out/canaries.json and $out/canaries.md" >&2
exit $status
