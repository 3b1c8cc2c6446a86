#!/usr/bin/env bash
# The consumer projects in examples/, built out of luahammer's tree as a binding's
# maintainer builds them, and the configure-time checks of the CMake helpers:
#  1. examples/c-module, luahammer added with FetchContent (this checkout, through
#     CMake's FETCHCONTENT_SOURCE_DIR_LUAHAMMER), LUAHAMMER_MODE=fuzz: configure, build,
#     ctest (the module's objects carry ASan, UBSan and coverage instrumentation), then the
#     fuzzer from an empty corpus must report the planted heap overflow in bytes_reverse
#     within a budget of executions, and the nightly campaign over the project's build tree
#     (ci/nightly.sh --build-dir) must report it;
#  2. a project with add_subdirectory whose module target defines NDEBUG, and one handing
#     over an imported target: each configure must fail with the helper's one line.
# Prints the time of each step.
#
# usage: ci/examples.sh [--runs N] [--work DIR]   (default 20000 runs, build/examples)
# Exit status: 0 when every check passed, 1 when one failed, 2 on a usage error.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=20000
work="$root/build/examples"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "examples.sh: --runs needs a positive number" >&2; exit 2; }
            runs=$2; shift 2 ;;
    --work) [ -n "${2:-}" ] || { echo "examples.sh: --work needs a folder" >&2; exit 2; }
            work=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "examples.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$work" || { echo "examples.sh: cannot create $work" >&2; exit 2; }
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
compilers=(-G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++)
failed=0
step() { echo "examples: $1 ($(( SECONDS - t0 )) s)"; }
fail() { echo "examples: FAILED: $*" >&2; failed=1; }

# --- 1. the C module, with FetchContent ------------------------------------------------
build="$work/c-module"
rm -rf "$build"
t0=$SECONDS
if cmake -S "$root/examples/c-module" -B "$build" "${compilers[@]}" -DBYTES_FUZZ=ON -DLUAHAMMER_MODE=fuzz \
     -DFETCHCONTENT_SOURCE_DIR_LUAHAMMER="$root" >"$work/c-module-configure.log" 2>&1; then
  step "c-module configured"
  if cmake --build "$build" >"$work/c-module-build.log" 2>&1; then
    step "c-module built"
    if ctest --test-dir "$build" --output-on-failure >"$work/c-module-ctest.log" 2>&1; then
      step "c-module ctest: $(grep -E 'tests passed' "$work/c-module-ctest.log")"
      grep -q 'luahammer_instrumented' "$work/c-module-ctest.log" || fail "no instrumentation test in the c-module build"
    else
      fail "c-module ctest"; tail -20 "$work/c-module-ctest.log"
    fi
    corpus="$work/c-module-corpus"
    rm -rf "$corpus" && mkdir -p "$corpus"
    (cd "$work" && "$build/module_bytes_fuzzer" -runs="$runs" -seed=1 "$corpus") >"$work/c-module-fuzz.log" 2>&1
    if grep -q 'ERROR: AddressSanitizer: heap-buffer-overflow' "$work/c-module-fuzz.log" &&
       grep -q 'in bytes_reverse' "$work/c-module-fuzz.log"; then
      execs=$(grep -oE '^#[0-9]+' "$work/c-module-fuzz.log" | tail -1)
      step "c-module fuzzer found the planted overflow in bytes_reverse (last status line ${execs:-#0}, budget $runs runs)"
    else
      fail "the c-module fuzzer did not report the overflow in bytes_reverse within $runs runs"
      tail -20 "$work/c-module-fuzz.log"
    fi
    # The campaign over the project's build tree (its manifest lists the module fuzzer):
    # the finding deduplicated, minimized and reported; exit status 1 for a new finding.
    t0=$SECONDS
    bash "$root/ci/nightly.sh" --build-dir "$build" --no-build --minutes 1 --fresh \
      --out "$work/c-module-nightly" >"$work/c-module-nightly.log" 2>&1
    rc=$?
    if [ $rc -eq 1 ] && grep -q '"module_bytes"' "$work/c-module-nightly/summary.json" &&
       compgen -G "$work/c-module-nightly/crashes/module_bytes/*heap-buffer-overflow*" >/dev/null; then
      step "c-module campaign (ci/nightly.sh --build-dir): $(grep -m1 'summary:' "$work/c-module-nightly.log" | sed 's/^nightly: //')"
    else
      fail "the campaign over the c-module build tree (exit $rc)"; tail -10 "$work/c-module-nightly.log"
    fi
  else
    fail "c-module build"; tail -30 "$work/c-module-build.log"
  fi
else
  fail "c-module configure"; tail -20 "$work/c-module-configure.log"
fi

# --- 2. the configure-time checks, with add_subdirectory ---------------------------------
# expect_configure_failure <name> <expected line> <CMake lines after the module library>
expect_configure_failure() {
  local name=$1 expected=$2 body=$3 dir="$work/check-$1"
  rm -rf "$dir" && mkdir -p "$dir/src"
  printf 'int luaopen_m(void *L) { (void)L; return 0; }\n' >"$dir/src/m.c"
  cat >"$dir/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.25)
project(check C CXX)
add_subdirectory("$root" luahammer)
add_library(m STATIC src/m.c)
$body
EOF
  t0=$SECONDS
  if cmake -S "$dir" -B "$dir/build" "${compilers[@]}" -DLUAHAMMER_MODE=asan >"$dir/configure.log" 2>&1; then
    fail "$name: the configure succeeded"
  elif grep -q "$expected" "$dir/configure.log"; then
    step "$name: configure refused: $(grep -m1 "$expected" "$dir/configure.log" | sed 's/^ *//')"
  else
    fail "$name: the configure failed without '$expected'"; tail -20 "$dir/configure.log"
  fi
}
expect_configure_failure ndebug "defines NDEBUG" '
target_compile_definitions(m PRIVATE NDEBUG)
luahammer_add_module_fuzzer(m TARGETS m OPEN luaopen_m)'
expect_configure_failure imported "is an imported target" '
add_library(prebuilt STATIC IMPORTED)
set_target_properties(prebuilt PROPERTIES IMPORTED_LOCATION /nonexistent/libprebuilt.a)
luahammer_add_module_fuzzer(m TARGETS prebuilt OPEN luaopen_m)'

if [ $failed = 0 ]; then echo "examples: all passed"; else echo "examples: some checks failed" >&2; fi
exit $failed
