#!/usr/bin/env bash
# Renders a nightly report.html in headless Chromium and saves a screenshot, to check the
# page opens offline and shows its plots and tables (the image is not kept in git).
#
# usage: ci/screenshot-report.sh [REPORT.html] [OUTPUT.png] [WIDTHxHEIGHT]
#        (defaults: out/nightly/report.html, beside it report.png, 1400x2400)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
case "${1:-}" in -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
report=${1:-$root/out/nightly/report.html}
png=${2:-$(dirname "$report")/report.png}
size=${3:-1400x2400}
[ -f "$report" ] || { echo "screenshot-report: no report at '$report' (run ci/nightly.sh first)" >&2; exit 2; }
[[ "$size" =~ ^[0-9]+x[0-9]+$ ]] || { echo "screenshot-report: size must be WIDTHxHEIGHT, got '$size'" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null ||
    { echo "screenshot-report: cannot install Debian's chromium package" >&2; exit 2; }
  browser=$(command -v chromium)
fi
report=$(cd "$(dirname "$report")" && pwd)/$(basename "$report")
# --no-sandbox: CI containers run as root; the page is a local file with no scripts.
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="${size/x/,}" \
  --screenshot="$png" "file://$report" >/dev/null 2>&1
[ -s "$png" ] || { echo "screenshot-report: chromium wrote no screenshot" >&2; exit 1; }
echo "screenshot-report: $png"
