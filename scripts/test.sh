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
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ] && [ -z "${SESAME_TEST_NGINX:-}" ]; then
  echo "NOTE: nginx is not installed: the nginx auth_request test (tests/api/forward_auth.rs) was skipped (apt-get install nginx-light)."
fi

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -f tests/e2e/package.json ]; then
  if [ -x "$chromium" ] && command -v node >/dev/null && command -v npm >/dev/null; then
    (cd tests/e2e && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && SESAME_BIN="$PWD/../../target/debug/sesame" CHROMIUM_PATH="$chromium" npm test)
  else
    echo "NOTE: Chromium ($chromium) or Node.js is missing: the browser tests (tests/e2e) were NOT run."
  fi
fi
