#!/usr/bin/env bash
# Installs code-server (a full VS Code: workbench + Node extension host) from npm into an ignored cache folder,
# doing by hand what its postinstall does (that script refuses to run as root and downloads ripgrep from GitHub,
# which this project's machines cannot reach). Skipped when the cache is complete.
# See ../shared/docs/real-vscode.md for why each step is here.
set -euo pipefail
VERSION="${CODE_SERVER_VERSION:-4.100.3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${CODE_SERVER_CACHE:-$ROOT/.vscode-test/code-server-$VERSION}"
MARKER="$DEST/.complete"
if [ -f "$MARKER" ]; then
  echo "code-server $VERSION: cached at $DEST"
  exit 0
fi
command -v rg >/dev/null || { echo "ripgrep missing: run scripts/install-system-deps.sh first" >&2; exit 2; }
rm -rf "$DEST"
mkdir -p "$DEST"
cd "$DEST"
echo '{"name":"code-server-cache","private":true}' > package.json
echo "code-server $VERSION: npm install (this takes a few minutes once)"
npm install --no-audit --no-fund --ignore-scripts "code-server@$VERSION" >/dev/null
VS="$DEST/node_modules/code-server/lib/vscode"
(cd "$VS" && npm install --no-audit --no-fund --omit=dev --ignore-scripts >/dev/null)
mkdir -p "$VS/node_modules/@vscode/ripgrep/bin"
ln -sf "$(command -v rg)" "$VS/node_modules/@vscode/ripgrep/bin/rg"
(cd "$VS" && npm_config_yes=true npm rebuild >/dev/null)
(cd "$VS" && ln -sfn node_modules node_modules.asar)
(cd "$VS/bin/remote-cli" && ln -sf code-linux.sh code-server)
(cd "$VS/bin/helpers" && ln -sf browser-linux.sh browser.sh)
(cd "$VS/extensions" && npm install --no-audit --no-fund --omit=dev --ignore-scripts >/dev/null)
(cd "$DEST" && npm_config_yes=true npm rebuild argon2 >/dev/null)
touch "$MARKER"
echo "code-server $VERSION: installed at $DEST"
