#!/usr/bin/env bash
# Line coverage of the binding core, the harness and the fuzzed third-party modules, from
# replaying fuzz corpora through the coverage preset's replay binaries (llvm-cov).
#
# usage: ci/coverage.sh [--out DIR] [--targets a,b] [--no-build] [CORPUS_ROOT...]
#   Replays, for every fuzz target T: corpus/T, corpus/regressions/T, and CORPUS_ROOT/T for
#   each CORPUS_ROOT given (for example the nightly's out/nightly/corpus).
#   Writes DIR/html/index.html, DIR/report.txt (per file) and DIR/coverage.json (totals),
#   and prints one line per area; for the op-program targets, DIR/shapes.json: the cells of
#   the shape table (harness/opvm/include/luahammer/opvm/shapes.def) the corpora reach, and
#   the ones never reached. DIR defaults to out/coverage.
# Exit status: 0 done, 1 a replay reported a finding (coverage still written), 2 usage/setup.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

out="$root/out/coverage"; targets=""; build=1; roots=()
need() { [ $# -ge 2 ] || { echo "coverage.sh: $1 needs a value (see --help)" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --out) need "$@"; out=$2; shift 2 ;;
    --targets) need "$@"; targets=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "coverage.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) [ -d "$1" ] || { echo "coverage.sh: corpus root '$1' is not a directory" >&2; exit 2; }
       roots+=("$(cd "$1" && pwd)"); shift ;;
  esac
done
mkdir -p "$out" || { echo "coverage.sh: cannot create '$out'" >&2; exit 2; }
out=$(cd "$out" && pwd)
cd "$root" || exit 2

if [ "$build" = 1 ]; then
  { cmake --preset coverage >"$out/build.log" 2>&1 && cmake --build --preset coverage >>"$out/build.log" 2>&1; } ||
    { echo "coverage.sh: the coverage preset failed to build (see $out/build.log)" >&2; exit 2; }
fi
bin=build/coverage/fuzz
[ -d "$bin" ] || { echo "coverage.sh: $bin does not exist; build the coverage preset first" >&2; exit 2; }

# Replay binaries, seeds and regressions of every target the build's manifest lists
# (luahammer-targets.tsv: ours, the modules', a user's), comparison targets left out.
manifest=build/coverage/luahammer-targets.tsv
[ -f "$manifest" ] || { echo "coverage.sh: no $manifest; configure the coverage preset first" >&2; exit 2; }
declare -A replay_of seeds_of regressions_of
all=()
while IFS=$'\t' read -r name role _fuzzer replay seeds regressions _options; do
  [ "$role" = comparison ] && continue
  replay_of[$name]=$replay; seeds_of[$name]=$seeds; regressions_of[$name]=$regressions
  all+=("$name")
done < <(grep -v '^#' "$manifest" | sort)
if [ -n "$targets" ]; then
  IFS=, read -ra wanted <<<"$targets"
  for t in "${wanted[@]}"; do
    printf '%s\n' "${all[@]}" | grep -x -- "$t" >/dev/null || { echo "coverage.sh: no replay binary for target '$t'" >&2; exit 2; }
  done
  all=("${wanted[@]}")
fi

rm -rf "$out/profiles" "$out/html"; mkdir -p "$out/profiles"
rm -f "$out/shapes.tsv" "$out/shapes.json"; : > "$out/empty-input"
status=0; objects=()
for t in "${all[@]}"; do
  dirs=()
  for d in "${seeds_of[$t]}" "${regressions_of[$t]}" "${roots[@]/%//$t}"; do
    [ -d "$d" ] && dirs+=("$d")
  done
  replay=${replay_of[$t]}
  [ -x "$replay" ] || { echo "coverage: $t: no replay binary (build the coverage preset)"; status=1; continue; }
  objects+=(-object "$replay")
  [ ${#dirs[@]} -gt 0 ] || { echo "coverage: $t: no corpus to replay"; continue; }
  # An op-program target's replay also counts the shape table's cells its inputs reach
  # (--shapes-tsv; other targets refuse the flag, which an empty input shows first).
  shape_args=()
  "$replay" --shapes-tsv "$out/probe.tsv" "$out/empty-input" >/dev/null 2>&1 && shape_args=(--shapes-tsv "$out/shapes.tsv")
  rm -f "$out/probe.tsv"
  # In batches: an input that crashes (a finding, or memory corruption the coverage build
  # has no sanitizer to stop) loses only its batch, whose inputs then run one by one.
  find -L "${dirs[@]}" -type f ! -name '*.explain' ! -name '*.expect' | sort > "$out/$t.inputs"
  files=$(wc -l < "$out/$t.inputs")
  rm -f "$out/$t.crashing" "$out/$t.batch."*
  split -l 200 "$out/$t.inputs" "$out/$t.batch."
  : > "$out/$t.log"
  for batch in "$out/$t.batch."*; do
    [ -e "$batch" ] || continue
    mapfile -t inputs < "$batch"
    if ! LLVM_PROFILE_FILE="$out/profiles/$t-%p.profraw" "$replay" "${shape_args[@]}" "${inputs[@]}" >>"$out/$t.log" 2>&1; then
      for input in "${inputs[@]}"; do
        LLVM_PROFILE_FILE="$out/profiles/$t-%p.profraw" "$replay" "$input" >/dev/null 2>&1 ||
          echo "$input" >> "$out/$t.crashing"
      done
    fi
    rm -f "$batch"
  done
  if [ -s "$out/$t.crashing" ]; then
    echo "coverage: $t: $(wc -l < "$out/$t.crashing") input(s) stopped on a finding (listed in $out/$t.crashing); the rest counted"
    status=1
  fi
  echo "coverage: $t: replayed $files input(s)"
done
profiles=("$out"/profiles/*.profraw)
[ -e "${profiles[0]}" ] || { echo "coverage.sh: no profile was written" >&2; exit 2; }
llvm-profdata merge -sparse "${profiles[@]}" -o "$out/merged.profdata" ||
  { echo "coverage.sh: llvm-profdata merge failed" >&2; exit 2; }

# Our code and the fuzzed modules' code: not Lua, not the system headers, not the tests.
ignore='third_party/lua-|/usr/|_test\.cc$|/tests/'
first=("${objects[1]}"); rest=("${objects[@]:2}")
llvm-cov show "${first[@]}" "${rest[@]}" -instr-profile="$out/merged.profdata" -format=html \
  -output-dir="$out/html" -ignore-filename-regex="$ignore" -show-line-counts-or-regions >/dev/null 2>"$out/llvm-cov.log" ||
  { echo "coverage.sh: llvm-cov show failed" >&2; exit 2; }
llvm-cov report "${first[@]}" "${rest[@]}" -instr-profile="$out/merged.profdata" \
  -ignore-filename-regex="$ignore" >"$out/report.txt" 2>>"$out/llvm-cov.log"
llvm-cov export "${first[@]}" "${rest[@]}" -instr-profile="$out/merged.profdata" -summary-only \
  -ignore-filename-regex="$ignore" >"$out/export.json" 2>>"$out/llvm-cov.log"
# Each binding source line once, with its count (llvm-cov 14's report counts a line of a
# lambda both in the lambda and in its enclosing function): the per-line figures below.
llvm-cov show "${first[@]}" "${rest[@]}" -instr-profile="$out/merged.profdata" -show-instantiations=false \
  "$root/binding" >"$out/binding-lines.txt" 2>>"$out/llvm-cov.log"
python3 - "$out/export.json" "$out/coverage.json" "$root" "$out/binding-lines.txt" <<'EOF'
import json, sys
data = json.load(open(sys.argv[1]))
root = sys.argv[3].rstrip('/') + '/'
areas = {}
for f in data['data'][0]['files']:
    name = f['filename'][len(root):] if f['filename'].startswith(root) else f['filename']
    if name.startswith('binding/'):
        area = 'binding core'
    elif name.startswith('third_party/modules/'):
        area = 'module ' + name.split('/')[2]
    else:
        area = name.split('/')[0]
    lines = f['summary']['lines']
    a = areas.setdefault(area, [0, 0])
    a[0] += lines['covered']; a[1] += lines['count']

# The binding core without its canary blocks: in the build under test (no canaries),
# `if (CXXLUA_CANARY(x)) { ... }` is constant false and the canary_* helpers are never
# called, so those lines are dead by construction. Both figures are reported.
import re
def canary_lines(path):
    dead, depth, start = set(), 0, None
    try:
        lines = open(path).read().split('\n')
    except OSError:
        return dead
    for number, text in enumerate(lines, 1):
        code = text.split('//')[0]
        if start is None and (re.search(r'(?<!!)CXXLUA_CANARY\(', code) and code.rstrip().endswith('{')
                              or re.match(r'\w[\w:<>*& ]* canary_\w+\(.*\)\s*\{$', code)):
            start, depth = number, 0
        if start is not None:
            depth += code.count('{') - code.count('}')
            if number > start and not re.match(r'\s*\}\s*else', code):  # an else's condition runs
                dead.add(number)
            if depth <= 0 and number > start or depth < 0:
                start = None
    return dead
counts, current = {}, None
for line in open(sys.argv[4]):
    if line.startswith('/') and line.rstrip().endswith(':'):
        current = line.rstrip()[:-1]
        continue
    m = re.match(r'^\s*(\d+)\|\s*([0-9.]+[kMGTE]?)?\|', line)
    if m and m.group(2) is not None and current:
        counts.setdefault(current, {})[int(m.group(1))] = m.group(2) != '0'
every, kept, ran_dead = [0, 0], [0, 0], []
for path, lines in counts.items():
    dead = canary_lines(path)
    for number, hit in lines.items():
        every[1] += 1; every[0] += hit
        if number not in dead:
            kept[1] += 1; kept[0] += hit
        elif hit:
            ran_dead.append(f"{path[len(root):]}:{number}")
if ran_dead:  # a canary block cannot run without canaries: the block finder is wrong
    print("coverage.sh: warning: lines counted as canary blocks ran (" + ", ".join(ran_dead[:5]) +
          "); the canary-excluded figure is not to be trusted", file=sys.stderr)
if not every[1]:
    print("coverage.sh: warning: no per-line counts for binding/ (see llvm-cov.log)", file=sys.stderr)
else:
    areas['binding core, per source line'] = every
    areas['binding core, per source line, canary blocks excluded'] = kept
result = {k: {'lines_covered': v[0], 'lines': v[1], 'percent': round(100.0 * v[0] / v[1], 2) if v[1] else 0.0}
          for k, v in sorted(areas.items())}
json.dump(result, open(sys.argv[2] + '.tmp', 'w'), indent=2)
import os; os.replace(sys.argv[2] + '.tmp', sys.argv[2])
for k, v in result.items():
    print(f"coverage: {k}: {v['percent']:.2f}% of lines ({v['lines_covered']}/{v['lines']})")
EOF
# The shape table (issue 21): each meaningful cell summed over the op targets' replays (a
# batch that stopped on a finding is not counted); written beside coverage.json.
if [ -s "$out/shapes.tsv" ]; then
  python3 - "$out/shapes.tsv" "$out/shapes.json" <<'EOF'
import json, os, sys
cells = {}
for line in open(sys.argv[1]):
    op, dim, value, inputs = line.rstrip('\n').split('\t')
    cells[(op, dim, value)] = cells.get((op, dim, value), 0) + int(inputs)
reached = sum(1 for n in cells.values() if n > 0)
never = sorted(f"{op} {dim} {value}" for (op, dim, value), n in cells.items() if n == 0)
result = {'meaningful': len(cells), 'reached': reached,
          'percent': round(100.0 * reached / len(cells), 2) if cells else 0.0, 'never_reached': never}
json.dump(result, open(sys.argv[2] + '.tmp', 'w'), indent=2)
os.replace(sys.argv[2] + '.tmp', sys.argv[2])
print(f"coverage: shape table: {reached} of {len(cells)} meaningful cells reached ({result['percent']:.2f}%; "
      f"the ones never reached in {sys.argv[2]})")
EOF
fi
echo "coverage: html report in $out/html/index.html"
exit $status
