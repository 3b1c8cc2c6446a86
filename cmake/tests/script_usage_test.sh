#!/usr/bin/env bash
# The ci/ scripts refuse bad command lines at once, with one line and exit status 2: an
# option without its value (which once looped forever), a canary name that is a pattern.
set -u
root=$1
check() {
  local expect=$1; shift
  local out rc
  out=$(timeout 20 "$@" 2>&1 </dev/null); rc=$?
  [ $rc -eq 2 ] || { echo "FAIL: '$*' exited $rc (expected 2): $out"; exit 1; }
  echo "$out" | grep -q -- "$expect" || { echo "FAIL: '$*' said: $out"; exit 1; }
  [ "$(echo "$out" | wc -l)" -eq 1 ] || { echo "FAIL: '$*' said more than one line: $out"; exit 1; }
}
check "needs a value" bash "$root/ci/canaries.sh" --budget
check "needs a value" bash "$root/ci/canaries.sh" --runs
check "needs a value" bash "$root/ci/canaries.sh" --out
check "unknown canary '.\*'" bash "$root/ci/canaries.sh" '.*'
check "unknown canary 'ref_lea.'" bash "$root/ci/canaries.sh" 'ref_lea.'
touch "${TMPDIR:-/tmp}/luahammer-not-a-folder.$$"
check "cannot write results" bash "$root/ci/canaries.sh" --out "${TMPDIR:-/tmp}/luahammer-not-a-folder.$$" ref_leak
rm -f "${TMPDIR:-/tmp}/luahammer-not-a-folder.$$"
check "preset needs a name" bash "$root/ci/test.sh" --preset
check "needs a positive number" bash "$root/ci/examples.sh" --runs 0
check "needs a folder" bash "$root/ci/examples.sh" --work
check "unknown argument" bash "$root/ci/examples.sh" --nope
echo "scripts refuse bad command lines: ok"
