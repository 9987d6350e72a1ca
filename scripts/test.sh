#!/usr/bin/env bash
# `npm test`: everything CI checks, on any machine. Installs the Debian packages the cross-checks need when it
# can (root with apt-get), rebuilds the bundle and checks the committed copy matches, type-checks, checks the
# formatting, then runs the vitest suite, the Python client's unittest suite and Claude Code's plugin validator.
# Ends with one line "N passed, N failed" over all of them.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .test-results
status=0
step() { printf '\n== %s\n' "$*"; }

step "Debian packages (scikit-learn for the example and the metric cross-checks; venv for the test environment)"
if /usr/bin/python3 -c 'import sklearn, pandas, ensurepip' 2>/dev/null; then
  echo "present: $(/usr/bin/python3 -c 'import sklearn; print("scikit-learn", sklearn.__version__)'), python3-venv"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-sklearn python3-pandas python3-xgboost python3-venv >/dev/null \
    && echo "installed: python3-sklearn python3-pandas python3-xgboost python3-venv" || { echo "apt-get failed"; status=1; }
else
  echo "not installed and not root: tests that need scikit-learn will be skipped (apt-get install python3-sklearn python3-venv)"
fi

step "Chromium for the report tests (Debian's package; playwright-core drives it and downloads no browser)"
if [ -x /usr/bin/chromium ]; then
  echo "present: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
    && echo "installed: $(/usr/bin/chromium --version 2>/dev/null | head -1)" || { echo "apt-get install chromium failed"; status=1; }
else
  echo "not installed and not root: the report tests will skip (apt-get install chromium), and fail under CI"
fi

step "Python test environment (.venv-test/, pinned by python/requirements-test*.txt; docs/testing.md)"
if venv_py=$(bash scripts/python-env.sh); then
  echo "python: $venv_py"
  export SPECWEAVE_TEST_PYTHON="$venv_py"
else
  echo "the pinned test environment could not be built: the tests that need MLflow, W&B or DVC will skip (or fail under SPECWEAVE_REQUIRE_PYENV=1)"
  venv_py=""; status=1
fi

step "Bundle is rebuilt from the sources and matches the committed copy"
npm run --silent build || status=1
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && git ls-files --error-unmatch mcp-server/dist/server.mjs >/dev/null 2>&1; then
  if git diff --quiet -- mcp-server/dist/server.mjs; then echo "mcp-server/dist/server.mjs is up to date"
  else echo "mcp-server/dist/server.mjs differs from the sources: run npm run build and commit it"; status=1; fi
fi

step "Type check"
npm run --silent typecheck && echo "tsc: no errors" || status=1

step "Formatting (prettier, .prettierrc.json): run npm run format to fix"
npm run --silent format:check && echo "prettier: every TypeScript source is formatted" || status=1

step "vitest"
npx vitest run --reporter=default --reporter=json --outputFile.json=.test-results/vitest.json || status=1

step "Python client (unittest)"
py=${venv_py:-/usr/bin/python3}; [ -x "$py" ] || py=python3
if [ -d python/tests ]; then
  (cd python && "$py" -m unittest discover -s tests 2>&1) | tee .test-results/python.txt
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
fi

step "Claude Code plugin validator"
if [ -f scripts/validate-plugin.sh ]; then
  bash scripts/validate-plugin.sh 2>&1 | tee .test-results/plugin.txt
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
fi

step "Offline install in Claude Code: the MCP server connects"
if [ -f scripts/check-plugin-install.sh ]; then
  bash scripts/check-plugin-install.sh 2>&1 | tee .test-results/install.txt
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
fi

step "Summary"
node scripts/test-summary.mjs "$status"
exit "$status"
