#!/usr/bin/env bash
# Render a memo as HTML and photograph it with headless Chromium.
#
#   scripts/screenshot_memo.sh [CONTRACT SCENARIO [OUT.png [WIDTHxHEIGHT]]]
#
# Defaults: the special conversion contract, its holder_converts scenario,
# bench/memo.png, 1200x2400. Needs Debian's `chromium`
# (apt-get install -y chromium). The HTML is kept next to the PNG.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
contract="${1:-$here/contracts/special_conversion.clause}"
scenario="${2:-$here/examples/special_conversion/holder_converts.yaml}"
png="${3:-$here/bench/memo.png}"
size="${4:-1200x2400}"

browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [ -z "$browser" ]; then
  echo "screenshot_memo.sh: chromium not found (apt-get install -y chromium)" >&2
  exit 1
fi

mkdir -p "$(dirname "$png")"
html="${png%.png}.html"
clause memo "$contract" "$scenario" --format html --force -o "$html"

profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --user-data-dir="$profile" \
  --screenshot="$png" --window-size="${size/x/,}" "file://$(cd "$(dirname "$html")" && pwd)/$(basename "$html")" \
  2> >(grep -v -e "dbus" -e "Fontconfig" -e "^$" >&2 || true)
echo "wrote $png (from $html)"
