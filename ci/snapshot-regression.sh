#!/usr/bin/env bash
# Records how a regression reproducer decodes today, beside it as FILE.explain, so the
# regression ctest (replay --check-decoding) fails when a change of the op-program format
# would silently turn the reproducer into a different program.
# usage: ci/snapshot-regression.sh [--preset P] corpus/regressions/<target>/<file>...
# The reproducer must still reproduce (or, once fixed, replay clean) under the new format
# before its snapshot is refreshed. Exit status: 0 written, 2 usage or build error.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
preset=asan
if [ "${1:-}" = "--preset" ]; then preset=${2:-}; shift 2; fi
[ $# -gt 0 ] || { echo "snapshot-regression.sh: name at least one reproducer (see the header)" >&2; exit 2; }
for f in "$@"; do
  case "$f" in *.explain|*.expect) continue ;; esac  # a glob that also matched the sidecars
  [ -f "$f" ] || { echo "snapshot-regression.sh: '$f' is not a file" >&2; exit 2; }
  target=$(basename "$(dirname "$f")")
  replay="$root/build/$preset/fuzz/${target}_replay"
  [ -x "$replay" ] || { echo "snapshot-regression.sh: no $replay (build the $preset preset first)" >&2; exit 2; }
  # --explain prints "== FILE (N bytes)", the decoding, then the replay's own lines.
  "$replay" --explain "$f" 2>/dev/null | sed '1d' | sed '/^replayed [0-9]* input(s): no finding$/d' > "$f.explain.tmp"
  mv "$f.explain.tmp" "$f.explain"
  echo "snapshot-regression.sh: $f.explain ($(wc -l < "$f.explain") lines)"
done
