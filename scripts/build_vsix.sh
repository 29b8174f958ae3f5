#!/usr/bin/env bash
# Package editors/vscode into a .vsix with npm packages only:
# vscode-languageclient (the extension's one dependency) and @vscode/vsce
# (the packager), both installed by npm into temporary folders.
#
#   scripts/build_vsix.sh [OUTPUT.vsix]     (default: dist/clause-language.vsix)
#
# Nothing is written into editors/vscode (no node_modules, no .vsix). The package is
# then unpacked and checked: its files are there, and its extension.js, run with the
# bundled client outside VS Code (scripts/check_vsix.js), starts the language server
# (CLAUSE_LSP, default `clause lsp`) and completes the initialize handshake.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/dist/clause-language.vsix}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
command -v npm >/dev/null || { echo "build_vsix.sh: npm is needed (apt-get install -y npm)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The packager, in a folder of its own so it is not bundled into the extension.
mkdir -p "$work/tools"
(cd "$work/tools" && npm init -y >/dev/null && npm install --no-audit --no-fund --silent @vscode/vsce@^3 >/dev/null)

# The extension, with its production dependencies.
cp -R "$root/editors/vscode" "$work/extension"
(cd "$work/extension" && npm install --omit=dev --no-audit --no-fund --silent >/dev/null)

mkdir -p "$(dirname "$out")"
(cd "$work/extension" && "$work/tools/node_modules/.bin/vsce" package \
    --allow-missing-repository --skip-license --out "$out")
echo "built $out ($(wc -c <"$out") bytes)"

mkdir -p "$work/unpacked"
(cd "$work/unpacked" && unzip -q "$out")
for file in extension.js package.json language-configuration.json syntaxes/clause.tmLanguage.json \
            node_modules/vscode-languageclient/node.js; do
  [ -f "$work/unpacked/extension/$file" ] || { echo "build_vsix.sh: $file is missing from the package" >&2; exit 1; }
done
if [ -d "$work/unpacked/extension/node_modules/@vscode/vsce" ]; then
  echo "build_vsix.sh: the packager was bundled into the package" >&2; exit 1
fi
read -r -a server <<<"${CLAUSE_LSP:-clause lsp}"
if command -v "${server[0]}" >/dev/null; then
  node "$root/scripts/check_vsix.js" "$work/unpacked/extension" "${server[@]}"
else
  echo "build_vsix.sh: ${server[0]} not found: the package was not started against the server (set CLAUSE_LSP)" >&2
fi
