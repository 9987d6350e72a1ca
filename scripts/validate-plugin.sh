#!/usr/bin/env bash
# Runs Claude Code's own plugin validator on this repository (the repository root is the plugin root) and checks
# that it loads every component: 13 skills, 1 agent, every command in commands/, and the MCP server.
#
#   bash scripts/validate-plugin.sh            # validate the plugin in the repository holding this script
#   bash scripts/validate-plugin.sh DIR        # validate another checkout
#
# The validator is pinned, and run under Node 22 (newer Claude Code versions need it; npm on Node 20 quietly picks
# an old release). Both come from the npm registry through npx; nothing else is fetched, and the validator needs no
# login or network of its own. HOME and the Claude config folder point at a temporary folder, so the run neither
# reads nor changes a real Claude Code setup.
set -euo pipefail

CLAUDE_CODE_VERSION="${CLAUDE_CODE_VERSION:-2.1.330}"
NODE_SPEC="node@22"
EXPECTED_SKILLS=13
EXPECTED_AGENTS=1
EXPECTED_MCP_SERVERS=1

ROOT="$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}" && pwd)"
EXPECTED_COMMANDS="$(find "$ROOT/commands" -maxdepth 1 -name '*.md' -type f | wc -l | tr -d ' ')"

SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$SCRATCH/home"

claude_validate() {
  (
    cd "$ROOT"
    HOME="$SCRATCH/home" CLAUDE_CONFIG_DIR="$SCRATCH/home" DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 \
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 npm_config_update_notifier=false npm_config_loglevel=error \
      npx -y -p "$NODE_SPEC" -p "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}" -- claude plugin validate "$@"
  )
}

echo "Claude Code ${CLAUDE_CODE_VERSION} (under ${NODE_SPEC}): claude plugin validate --strict ${ROOT}"
if ! claude_validate --strict . >"$SCRATCH/report.txt" 2>&1; then
  cat "$SCRATCH/report.txt"
  echo "FAIL: claude plugin validate --strict reported errors or warnings" >&2
  exit 1
fi
grep -E '^(✔|✘|⚠)|Validation' "$SCRATCH/report.txt" || true

claude_validate --json . >"$SCRATCH/report.json" 2>"$SCRATCH/json.err" || {
  cat "$SCRATCH/json.err" "$SCRATCH/report.json" >&2
  echo "FAIL: claude plugin validate --json failed" >&2
  exit 1
}

# Count what the validator says the plugin provides (skills that silently fail to load are missing here).
node - "$SCRATCH/report.json" "$EXPECTED_SKILLS" "$EXPECTED_AGENTS" "$EXPECTED_COMMANDS" "$EXPECTED_MCP_SERVERS" <<'NODE'
const fs = require('node:fs');
const [file, skills, agents, commands, servers] = process.argv.slice(2);
const report = JSON.parse(fs.readFileSync(file, 'utf8'));
const p = report.provides ?? {};
const want = { skills: +skills, agents: +agents, commands: +commands, mcpServers: +servers };
let ok = report.success === true;
if (!ok) console.error('FAIL: the JSON report says success is not true');
for (const [key, n] of Object.entries(want)) {
  const got = (p[key] ?? []).length;
  const names = (p[key] ?? []).map((x) => (typeof x === 'string' ? x : x.name)).join(', ');
  console.log(`${got === n ? 'ok  ' : 'FAIL'} ${key}: ${got} (expected ${n}): ${names}`);
  if (got !== n) ok = false;
}
process.exit(ok ? 0 : 1);
NODE
echo "Plugin validation passed."
