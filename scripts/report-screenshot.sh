#!/usr/bin/env bash
# Render a `lambda-inventory report --format html` page headless and save a PNG, to look at it as a browser
# draws it. Needs chromium (Debian: apt-get install chromium). Not part of the test suite.
#   scripts/report-screenshot.sh out/report.html out/report.png
set -euo pipefail
page=${1:?usage: $0 REPORT.html [OUT.png]}
shot=${2:-${page%.html}.png}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "report-screenshot: no chromium on PATH (apt-get install chromium)" >&2
  exit 2
fi
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
HOME=$home "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars \
  --window-size=1280,2400 --screenshot="$(realpath -m "$shot")" "file://$(realpath "$page")" 2>/dev/null
test -s "$shot" && echo "report-screenshot: wrote $shot"
