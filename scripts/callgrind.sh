#!/usr/bin/env bash
# Instructions per request of one bench scenario, counted by callgrind (docs/PERFORMANCE.md,
# "Reproducing a profile"). Instruction counts do not drift with the machine's speed, so two
# builds can be compared on a busy machine.
#
#   scripts/callgrind.sh SERVER_BIN SCENARIO OUT_FILE [sqlite|postgres]
#
# The server runs under valgrind on a fresh database; `sesame-bench --target` drives SCENARIO
# at a fixed rate (RATE, default 150/s, 8 in flight); the counters are zeroed 4 s into the
# measured run and dumped 8 s later, and the total is divided by the RATE × 8 requests sent
# in between. A scenario of several requests (passkey-login: 3) counts per ceremony.
# The division assumes the server under valgrind keeps up with RATE: for passkey-login use
# RATE=30 (at 60 it falls behind and the figure comes out too low).
# Environment: BENCH (default target/release/sesame-bench), RATE, ACCOUNTS (default 200),
# PG_URL (default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable), PORT (18777).
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,15p "$0"; exit 2; }
bin=$1 scenario=$2 out=$3 backend=${4:-sqlite}
bench=${BENCH:-target/release/sesame-bench}
rate=${RATE:-150} accounts=${ACCOUNTS:-200} port=${PORT:-18777}
pg=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}

work=$(mktemp -d)
db_name=""
cleanup() {
  [ -n "${vg:-}" ] && kill "$vg" 2>/dev/null && wait "$vg" 2>/dev/null
  [ -n "$db_name" ] && psql -q "${pg%%\?*}" -c "DROP DATABASE IF EXISTS $db_name" >/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

if [ "$backend" = postgres ]; then
  db_name="cgprof_$$"
  psql -q "${pg%%\?*}" -c "CREATE DATABASE $db_name" >/dev/null
  base=${pg%%\?*}
  url="${base%/*}/$db_name?sslmode=disable"
else
  url="sqlite://$work/sesame.db?mode=rwc"
fi

SESAME_LISTEN="127.0.0.1:$port" SESAME_DATABASE_URL="$url" SESAME_DATA_DIR="$work" \
  SESAME_ORIGIN="http://localhost:$port" SESAME_RP_ID=localhost SESAME_IP_RATE_LIMIT=off \
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" >"$work/server.log" 2>&1 &
vg=$!
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done

"$bench" --target "http://localhost:$port" --scenario "$scenario" --accounts "$accounts" \
  --rate "$rate" --concurrency 8 --warmup 1s --duration 14s --no-calibrate \
  >"$work/bench.out" 2>"$work/bench.err" &
bp=$!
until grep -q "^running $scenario" "$work/bench.err" 2>/dev/null; do
  kill -0 "$bp" 2>/dev/null || { cat "$work/bench.err"; exit 1; }
  sleep 0.1
done
sleep 4
callgrind_control -z "$vg" >/dev/null
sleep 8
callgrind_control -d "$vg" >/dev/null
wait "$bp"
grep -A1 "^running $scenario" "$work/bench.err" | tail -1
dump=$(ls -t "$out".* | head -1)
total=$(callgrind_annotate "$dump" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "$dump: $total instructions, $((total / (rate * 8))) per operation"
