#!/usr/bin/env bash
# Sesame's test command (README): every Rust test on SQLite — and on PostgreSQL too when
# SESAME_TEST_POSTGRES_URL is set — then the browser tests when Chromium and Node are here
# (on SQLite, and again on PostgreSQL when it is set).
# Each part that cannot run here says so plainly; with SESAME_TEST_REQUIRE_ALL=1 (CI) a part that
# cannot run fails the run instead.
set -euo pipefail
cd "$(dirname "$0")/.."

# The process-level tests (kill -9, several instances) run the real binary.
cargo build -p server --bin sesame

# A part that cannot run here: a plain note at the end, or (SESAME_TEST_REQUIRE_ALL=1) a failure
# before anything runs.
notes=()
not_run() {
  if [ "${SESAME_TEST_REQUIRE_ALL:-}" = 1 ]; then
    echo "FAILED (SESAME_TEST_REQUIRE_ALL=1): $1" >&2
    exit 1
  fi
  notes+=("NOTE: $1")
}
if [ -z "${SESAME_TEST_POSTGRES_URL:-}" ]; then
  not_run "SESAME_TEST_POSTGRES_URL is not set: the PostgreSQL half of the tests was NOT run."
fi
# Where tests/api/forward_auth_nginx.rs looks for it.
nginx_found=
for candidate in "${SESAME_TEST_NGINX:-}" /usr/sbin/nginx /usr/bin/nginx /usr/local/sbin/nginx /usr/local/bin/nginx; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then nginx_found=1; fi
done
if [ -z "$nginx_found" ]; then
  not_run "nginx is not installed: the nginx auth_request test (tests/api/forward_auth_nginx.rs) was skipped (apt-get install nginx-light)."
fi
# Where server/src/db/pooler_tests.rs looks for it (it runs on PostgreSQL only).
pgbouncer_found=
for candidate in "${SESAME_TEST_PGBOUNCER:-}" /usr/sbin/pgbouncer /usr/bin/pgbouncer /usr/local/bin/pgbouncer; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then pgbouncer_found=1; fi
done
if [ -n "${SESAME_TEST_POSTGRES_URL:-}" ] && [ -z "$pgbouncer_found" ]; then
  not_run "PgBouncer is not installed: the connection-pooler test (server/src/db/pooler_tests.rs) was skipped (apt-get install pgbouncer)."
fi
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -f tests/e2e/package.json ] && ! { [ -x "$chromium" ] && command -v node >/dev/null && command -v npm >/dev/null; }; then
  not_run "Chromium ($chromium) or Node.js (20 or later) is missing: the browser tests (tests/e2e) were NOT run (apt-get install chromium; Node.js from nodejs.org or your distribution)."
fi

cargo test --workspace --all-targets

if [ -f tests/e2e/package.json ] && [ -x "$chromium" ] && command -v node >/dev/null && command -v npm >/dev/null; then
  (cd tests/e2e && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } && SESAME_BIN="$PWD/../../target/debug/sesame" CHROMIUM_PATH="$chromium" npm test)
  if [ -n "${SESAME_TEST_POSTGRES_URL:-}" ]; then
    echo "== The browser tests again, each server on a fresh PostgreSQL database"
    (cd tests/e2e && SESAME_E2E_POSTGRES_URL="$SESAME_TEST_POSTGRES_URL" SESAME_BIN="$PWD/../../target/debug/sesame" CHROMIUM_PATH="$chromium" npm test)
  fi
fi
# (The expansion below is safe for an empty array under `set -u` in bash before 4.4 too.)
for note in ${notes[@]+"${notes[@]}"}; do echo "$note"; done
