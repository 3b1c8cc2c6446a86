#!/usr/bin/env bash
# The consumer projects in examples/, built out of luahammer's tree as a binding's
# maintainer builds them, and the configure-time checks of the CMake helpers:
#  1. examples/c-module, luahammer added with FetchContent (this checkout, through
#     CMake's FETCHCONTENT_SOURCE_DIR_LUAHAMMER), LUAHAMMER_MODE=fuzz: configure, build,
#     ctest (the module's objects carry ASan, UBSan and coverage instrumentation), then the
#     fuzzer from an empty corpus must report the planted heap overflow in bytes_reverse
#     within a budget of executions, and the nightly campaign over the project's build tree
#     (ci/nightly.sh --build-dir) must report it;
#  2. examples/installed-package against luahammer built and installed with
#     LUAHAMMER_MODE=fuzz (find_package): configure, build, ctest, the planted bug found;
#     a project asking that install for another mode is refused;
#  3. a project with add_subdirectory whose module target defines NDEBUG, and one handing
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
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
    # Its working corpus is the one the run above grew (a second night goes on from the
    # first night's corpus; libFuzzer keeps no crashing input in a corpus).
    t0=$SECONDS
    rm -rf "$work/c-module-nightly"
    mkdir -p "$work/c-module-nightly/corpus/module_bytes"
    cp "$corpus"/* "$work/c-module-nightly/corpus/module_bytes/" 2>/dev/null
    bash "$root/ci/nightly.sh" --build-dir "$build" --no-build --minutes 1 --fresh \
      --out "$work/c-module-nightly" >"$work/c-module-nightly.log" 2>&1
    rc=$?
    # One bug, one finding: whichever harness step called bytes.reverse.
    if [ $rc -eq 1 ] && grep -q 'summary: 1 target(s), 1 unique finding(s), 1 new' "$work/c-module-nightly.log" &&
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

# --- 2. the same module against an installed luahammer (find_package) -------------------
t0=$SECONDS
lh="$work/luahammer-build" prefix="$work/prefix" build="$work/installed-package"
rm -rf "$lh" "$prefix" "$build"
if cmake -S "$root" -B "$lh" "${compilers[@]}" -DLUAHAMMER_MODE=fuzz -DLUAHAMMER_BUILD_TESTS=OFF \
     -DLUAHAMMER_OWN_TARGETS=OFF >"$work/install.log" 2>&1 &&
   cmake --build "$lh" >>"$work/install.log" 2>&1 &&
   cmake --install "$lh" --prefix "$prefix" >>"$work/install.log" 2>&1; then
  step "luahammer built and installed (LUAHAMMER_MODE=fuzz) into $prefix"
  if cmake -S "$root/examples/installed-package" -B "$build" "${compilers[@]}" -DLUAHAMMER_MODE=fuzz \
       -DCMAKE_PREFIX_PATH="$prefix" >"$work/installed-package.log" 2>&1 &&
     cmake --build "$build" >>"$work/installed-package.log" 2>&1 &&
     ctest --test-dir "$build" --output-on-failure >>"$work/installed-package.log" 2>&1; then
    step "installed-package configured, built, ctest passed"
    corpus="$work/installed-package-corpus"
    rm -rf "$corpus" && mkdir -p "$corpus"
    rm -rf "$work/installed-package-artifacts" && mkdir -p "$work/installed-package-artifacts"
    (cd "$work" && "$build/module_bytes_fuzzer" -runs="$runs" -seed=1 \
       -artifact_prefix="$work/installed-package-artifacts/" "$corpus") >"$work/installed-package-fuzz.log" 2>&1
    if grep -q 'in bytes_reverse' "$work/installed-package-fuzz.log"; then
      step "installed-package fuzzer found the planted overflow in bytes_reverse"
      # The installed command replays it through the build tree's manifest.
      crash=$(find "$work/installed-package-artifacts" -name 'crash-*' -size +0 | head -1)
      [ -n "$crash" ] && "$prefix/bin/luahammer" replay --build-dir "$build" module_bytes "$crash" \
        >"$work/installed-replay.log" 2>&1  # exits non-zero: the input crashes
      if grep -q 'heap-buffer-overflow' "$work/installed-replay.log"; then
        step "installed luahammer replay reproduces it"
      else
        fail "the installed luahammer command did not replay the crash"
      fi
    else
      fail "the installed-package fuzzer did not report the overflow within $runs runs"
      tail -20 "$work/installed-package-fuzz.log"
    fi
  else
    fail "installed-package"; tail -30 "$work/installed-package.log"
  fi
  # A project asking the fuzz install for another mode is refused by the package.
  t0=$SECONDS
  if cmake -S "$root/examples/installed-package" -B "$build-tsan" "${compilers[@]}" -DLUAHAMMER_MODE=tsan \
       -DCMAKE_PREFIX_PATH="$prefix" >"$work/installed-package-tsan.log" 2>&1; then
    fail "installed-package: a tsan project accepted the fuzz install"
  elif grep -q "was built for LUAHAMMER_MODE=fuzz" <<<"$(tr -s ' \n' ' ' <"$work/installed-package-tsan.log")"; then
    step "installed-package: LUAHAMMER_MODE=tsan refused by the fuzz install"
  else
    fail "installed-package: the tsan configure failed for another reason"; tail -20 "$work/installed-package-tsan.log"
  fi
else
  fail "luahammer build or install"; tail -30 "$work/install.log"
fi

# --- 3. the configure-time checks, with add_subdirectory ---------------------------------
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
