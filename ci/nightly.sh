#!/usr/bin/env bash
# The main job: the nightly fuzz campaign, `ci/luahammer fuzz` (the ci/campaign package).
#
# usage: ci/nightly.sh [--minutes M] [--executions N] [--jobs J] [--targets a,b] [--out DIR] [--update-corpus]
#                      [--preset P] [--modules] [--no-coverage] [--no-build] [--fresh]
# Builds the fuzz preset (canary-fuzz when LUAHAMMER_CANARY is set), fuzzes every target for
# its share of M minutes in libFuzzer's fork mode, stores each unique finding minimized and
# confirmed under OUT/crashes/<target>/<signature>/, merges the working corpus OUT/corpus,
# and writes OUT/summary.json, OUT/report.html and OUT/coverage/. A killed run continues
# when rerun with the same arguments. Exit status: 0 clean, 1 new unique findings,
# 2 setup or usage error.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command -v python3 >/dev/null || bash "$root/ci/setup.sh" >/dev/null ||
  { echo "nightly.sh: python3 is missing and ci/setup.sh failed" >&2; exit 2; }
exec python3 "$root/ci/luahammer" fuzz "$@"
