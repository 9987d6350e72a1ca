#!/usr/bin/env bash
# The acceptance check of a real install: with no network, add this repository as a local marketplace, install
# the `ml` plugin from it into a throw-away Claude Code home, and ask `claude mcp list` whether the bundled MCP
# server connects. Claude Code runs `npm ci` in an installed plugin that has a lockfile; offline that fails, and
# the server must connect anyway (it needs no node_modules).
#
#   bash scripts/check-plugin-install.sh        # the pinned Claude Code from the npm registry (cached by npx)
set -euo pipefail

CLAUDE_CODE_VERSION="${CLAUDE_CODE_VERSION:-2.1.330}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT

# The native claude binary, fetched once through npx (the only network use), then run offline.
BIN="$(npm_config_loglevel=error npx -y -p node@22 -p "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}" -- sh -c 'readlink -f "$(command -v claude)"')"
[ -x "$BIN" ] || { echo "FAIL: no claude binary from @anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}"; exit 1; }

# The marketplace is a clean copy of the committed tree, as a user would clone it.
git clone -q "$ROOT" "$SCRATCH/ml-plugin"
mkdir -p "$SCRATCH/home" "$SCRATCH/project"
offline() {
  if unshare -n true 2>/dev/null; then unshare -n -- "$@"; else echo "(unshare unavailable: running with the network)" >&2; "$@"; fi
}
run() {
  HOME="$SCRATCH/home" CLAUDE_CONFIG_DIR="$SCRATCH/home" DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 \
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 offline "$BIN" "$@"
}

echo "Claude Code $("$BIN" --version 2>/dev/null | head -1), offline install of ml@specweave-ml"
run plugin marketplace add "$SCRATCH/ml-plugin" | tail -1
run plugin install ml@specweave-ml | tail -1
cd "$SCRATCH/project"
out="$(timeout 120 "$(command -v bash)" -c "$(declare -f offline run); BIN='$BIN' SCRATCH='$SCRATCH'; run mcp list" 2>&1 || true)"
echo "$out" | grep -E '^plugin:ml:' || true
if echo "$out" | grep -qE '^plugin:ml:ml: .*Connected'; then
  echo "Plugin install check passed: plugin:ml:ml is connected."
else
  echo "$out"
  echo "FAIL: the ml plugin's MCP server did not connect" >&2
  exit 1
fi
