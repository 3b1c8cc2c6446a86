#!/usr/bin/env bash
# The house style and static checks over luahammer's own files (never third_party/):
#   clang-format (.clang-format) on every C++ file, no change allowed;
#   clang-tidy (.clang-tidy: a bug-finding subset) on the library and target sources,
#     with a build tree's compile_commands.json (default build/asan; configure it first);
#   ShellCheck, warnings and errors, on every shell script;
#   pyflakes on the Python, and ruff as well where it is installed (Debian 12 has no ruff
#   package; CI runs pyflakes, which is ruff's default rule set F).
# usage: ci/lint.sh [--no-tidy] [--build DIR]
# Exit status: 0 clean, 1 violations (each tool's own lines first), 2 usage or setup error.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
tidy=1; build="$root/build/asan"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-tidy) tidy=0; shift ;;
    --build) [ $# -ge 2 ] || { echo "lint.sh: --build needs a folder" >&2; exit 2; }; build=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "lint.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for tool in clang-format shellcheck pyflakes3 $([ $tidy = 1 ] && echo run-clang-tidy); do
  command -v "$tool" >/dev/null || { echo "lint.sh: $tool is missing (ci/setup.sh installs it)" >&2; exit 2; }
done

failed=()
mapfile -t cxx < <(git ls-files '*.cc' '*.hpp' '*.h')
if ! clang-format --dry-run -Werror "${cxx[@]}"; then failed+=(clang-format); fi

mapfile -t scripts < <(git ls-files '*.sh' .ci/run)
if ! shellcheck -S warning "${scripts[@]}"; then failed+=(shellcheck); fi

mapfile -t python < <(git ls-files '*.py' ci/luahammer)
if ! pyflakes3 "${python[@]}"; then failed+=(pyflakes); fi
if command -v ruff >/dev/null && ! ruff check --quiet --line-length 120 "${python[@]}"; then failed+=(ruff); fi

if [ $tidy = 1 ]; then
  [ -f "$build/compile_commands.json" ] || { echo "lint.sh: no $build/compile_commands.json (configure a preset first)" >&2; exit 2; }
  mapfile -t sources < <(git ls-files 'binding/src/*.cc' 'harness/*.cc' 'fuzz/*.cc' 'repro/*.cc' 'repro/**/*.cc' \
                           'modules/*.cc' | grep -v -e '_test\.cc$' -e '/bench/')
  if ! run-clang-tidy -quiet -p "$build" -j "$(nproc)" "${sources[@]/#/$root/}" >"$build/clang-tidy.log" 2>&1 ||
     grep -q 'error: ' "$build/clang-tidy.log"; then
    grep -E '(warning|error): ' "$build/clang-tidy.log" | sort -u | head -50
    failed+=(clang-tidy)
  fi
fi

if [ ${#failed[@]} -gt 0 ]; then echo "lint.sh: violations from ${failed[*]}" >&2; exit 1; fi
echo "lint.sh: clean (${#cxx[@]} C++ files, ${#scripts[@]} scripts, ${#python[@]} Python files$([ $tidy = 1 ] && echo ", clang-tidy on ${#sources[@]} sources"))"
