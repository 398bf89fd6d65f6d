#!/usr/bin/env bash
# Sesame's test command (README): every Rust test on SQLite — and on PostgreSQL too when
# SESAME_TEST_POSTGRES_URL is set — then the browser tests when Chromium and Node are here.
# Each part that cannot run here says so plainly.
set -euo pipefail
cd "$(dirname "$0")/.."

# The process-level tests (kill -9, several instances) run the real binary.
cargo build -p server --bin sesame
cargo test --workspace --all-targets

if [ -z "${SESAME_TEST_POSTGRES_URL:-}" ]; then
  echo "NOTE: SESAME_TEST_POSTGRES_URL is not set: the PostgreSQL half of the API tests was NOT run."
fi

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -f tests/e2e/package.json ]; then
  if [ -x "$chromium" ] && command -v node >/dev/null && command -v npm >/dev/null; then
    (cd tests/e2e && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && SESAME_BIN="$PWD/../../target/debug/sesame" CHROMIUM_PATH="$chromium" npm test)
  else
    echo "NOTE: Chromium ($chromium) or Node.js is missing: the browser tests (tests/e2e) were NOT run."
  fi
fi
