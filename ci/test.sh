#!/usr/bin/env bash
# The sanitizer CI job: sets the machine up, then configures, builds and tests each preset
# (asan: every label; tsan: unit, repro, regression) and prints each ctest summary; then
# the quick canaries: with each catalogued bug switched back in, its regression case must
# fail (canary-fuzz preset, label canary), and the fastest canaries must be found by
# their fuzz target from the generic seeds within a small budget (ci/canaries.sh); then
# the ClusterFuzzLite/OSS-Fuzz build run locally (ci/ossfuzz-local.sh); then the consumer
# projects of examples/ built out of the tree (ci/examples.sh). The full run (no
# --preset) also lints after the asan preset (ci/lint.sh).
#
# usage: ci/test.sh [--preset P]… [--no-canaries]   (default: asan tsan, then the canaries)
#        ci/test.sh --help
# Exit status: 0 when every preset passed, 1 when a test failed, 2 on a usage or setup error.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
# ccache hits across clones at different paths (paths under the root are hashed relative).
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1

presets=(); canaries=1
while [ $# -gt 0 ]; do
  case "$1" in
    --preset) [ $# -ge 2 ] || { echo "test.sh: --preset needs a name" >&2; exit 2; }
              presets+=("$2"); shift 2 ;;
    --preset=*) presets+=("${1#--preset=}"); shift ;;
    --no-canaries) canaries=0; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ ${#presets[@]} -gt 0 ]; then canaries=0; else presets=(asan tsan); fi
[ $canaries = 1 ] && presets+=(canary-fuzz)

known=$(cmake --list-presets=configure 2>/dev/null | sed -n 's/^  "\([^"]*\)".*/\1/p')
for p in "${presets[@]}"; do
  grep -qx -- "$p" <<<"$known" || { echo "test.sh: unknown preset '$p' (known: $(echo $known))" >&2; exit 2; }
done

bash ci/setup.sh || { echo "test.sh: setup failed" >&2; exit 2; }
# The third-party modules the module fuzzers hammer (pinned Debian sources). Without them
# configure skips those fuzzers and says so; the rest of the suite still runs.
bash ci/fetch-module.sh lua-cjson lua-lpeg || echo "test.sh: module sources unavailable: module fuzzers not built"

total_passed=0; total_failed=0; status=0
for p in "${presets[@]}"; do
  echo "=== preset $p ==="
  start=$SECONDS
  log=$(mktemp)
  if ! cmake --preset "$p" >"$log" 2>&1 || ! cmake --build --preset "$p" >>"$log" 2>&1; then
    tail -40 "$log"; echo "test.sh: preset $p failed to build" >&2; rm -f "$log"; exit 2
  fi
  ctest --preset "$p" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  summary=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  total=$(echo "$summary" | sed -E 's/.* out of ([0-9]+).*/\1/')
  failed=$(echo "$summary" | sed -E 's/.* ([0-9]+) tests? failed.*/\1/')
  if [ -z "$summary" ]; then total=0; failed=1; fi
  total_passed=$((total_passed + total - failed)); total_failed=$((total_failed + failed))
  echo "=== preset $p: ${summary:-no ctest summary} ($((SECONDS - start)) s) ==="
  [ "$rc" -eq 0 ] || status=1
  rm -f "$log"
  if [ "$p" = asan ] && [ $canaries = 1 ]; then
    # The house style and static checks, with this preset's compile_commands.json.
    echo "=== lint: clang-format, clang-tidy, shellcheck, pyflakes ==="
    start=$SECONDS
    if bash ci/lint.sh --build "$root/build/asan"; then
      total_passed=$((total_passed + 1))
    else
      total_failed=$((total_failed + 1)); status=1
    fi
    echo "=== lint: done ($((SECONDS - start)) s) ==="
  fi
done
if [ $canaries = 1 ]; then
  echo "=== quick canaries: found by their fuzz target from the generic seeds ==="
  start=$SECONDS
  if bash ci/canaries.sh --budget 60 --runs 1 --out "$root/out/canaries-quick" \
       ref_leak double_destroy destroy_unconstructed pending_swallowed unref_after_close; then
    total_passed=$((total_passed + 1))
  else
    total_failed=$((total_failed + 1)); status=1
  fi
  echo "=== quick canaries: done ($((SECONDS - start)) s) ==="
  echo "=== OSS-Fuzz layout: .clusterfuzzlite/build.sh with the base builder's environment ==="
  start=$SECONDS
  if bash ci/ossfuzz-local.sh; then
    total_passed=$((total_passed + 1))
  else
    total_failed=$((total_failed + 1)); status=1
  fi
  echo "=== OSS-Fuzz layout: done ($((SECONDS - start)) s) ==="
  echo "=== examples: consumer projects built out of the tree (ci/examples.sh) ==="
  start=$SECONDS
  if bash ci/examples.sh; then
    total_passed=$((total_passed + 1))
  else
    total_failed=$((total_failed + 1)); status=1
  fi
  echo "=== examples: done ($((SECONDS - start)) s) ==="
fi
echo "ci/test.sh: ${total_passed} passed, ${total_failed} failed"
exit $status
