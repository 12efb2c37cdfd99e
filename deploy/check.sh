#!/usr/bin/env bash
# Keeps deploy/ honest:
#
#   deploy/check.sh               all of it, against a live server
#   deploy/check.sh --rules-only  only what needs no server (the first three steps)
#
# 1. promtool check config, check rules and test rules on deploy/prometheus/;
# 2. promtool parses every PromQL expression of the Grafana dashboard;
# 3. lists every metric family the rules and the dashboard use;
# 4. starts the server ($REQUEST_DESK_BIN, default target/debug/request-desk)
#    on a free port over a fresh database with the demo users, waits for
#    GET /health/ready = 200, holds a slot and books it as a demo user (so
#    that families labelled by outcome or target have a series), fetches
#    /metrics and fails, naming them, if any of those families has no
#    `# TYPE` line there. The database is dropped afterwards.
#
# Needs promtool (Debian: apt-get install -y prometheus), python3, and for
# step 4 curl and psql. Writes no tracked file (without DATABASE_URL, step 4
# uses the local test cluster in .data/, starting it if need be).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

rules_only=0
case "${1:-}" in
    "") ;;
    --rules-only) rules_only=1 ;;
    -h | --help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: deploy/check.sh [--rules-only]" >&2; exit 2 ;;
esac

say() { printf 'deploy/check: %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

command -v promtool >/dev/null 2>&1 \
    || fail "promtool not found: install it (Debian: apt-get install -y prometheus; or the prometheus release tarball)"
command -v python3 >/dev/null 2>&1 || fail "python3 not found"

work="$(mktemp -d "${TMPDIR:-/tmp}/deploy-check.XXXXXX")"
server=""
db_url=""
cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    if [ -n "$db_url" ]; then
        { read -r admin_url; read -r db_name; } < <(python3 deploy/metrics.py admin-url "$db_url")
        psql -q "$admin_url" -c "DROP DATABASE IF EXISTS \"$db_name\" WITH (FORCE)" >/dev/null 2>&1 \
            || say "could not drop database $db_name (on $admin_url); drop it by hand"
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# ---- 1. The rules, and their unit tests.
say "promtool check config, check rules"
(cd deploy/prometheus && promtool check config prometheus.yml)
say "promtool test rules"
(cd deploy/prometheus && promtool test rules request-desk.rules.test.yml)

# ---- 2. The dashboard's PromQL parses.
say "the dashboard's PromQL (promtool parses each expression)"
python3 deploy/metrics.py promql-rules "$work/dashboard.rules.yml" >&2
promtool check rules "$work/dashboard.rules.yml" >/dev/null \
    || { promtool check rules "$work/dashboard.rules.yml" || true; fail "deploy/grafana/request-desk.json has an expression promtool cannot parse (above)"; }

# ---- 3. The metric families used.
python3 deploy/metrics.py used >"$work/used"
say "$(wc -l <"$work/used" | tr -d ' ') metric families used by the rules and the dashboard: $(paste -sd' ' "$work/used")"

if [ "$rules_only" -eq 1 ]; then
    say "ok (rules only: no server started)"
    exit 0
fi

# ---- 4. ... are exported by the server.
bin="${REQUEST_DESK_BIN:-target/debug/request-desk}"
[ -x "$bin" ] || fail "no server binary at $bin: build it (cargo build --bin request-desk) or set REQUEST_DESK_BIN"
command -v curl >/dev/null 2>&1 || fail "curl not found"
command -v psql >/dev/null 2>&1 || fail "psql not found (Debian: apt-get install -y postgresql-client)"

# A fresh migrated database, on DATABASE_URL's server if set, else the local test cluster.
db_url="$("$bin" local-db --test --new-database --prefix deploycheck | tail -n 1)"
case "$db_url" in postgres://* | postgresql://*) ;; *) db_url=""; fail "local-db printed no database URL" ;; esac

log="$work/server.log"
# Port 0: the kernel picks a free port, and the server prints the address it got.
DATABASE_URL="$db_url" BIND_ADDR=127.0.0.1:0 JWT_SECRET="deploy-check-secret-0123456789abcdef" SEED_DEMO=true \
    "$bin" serve >"$log" 2>&1 &
server=$!

url=""
deadline=$((SECONDS + 60))
while :; do
    kill -0 "$server" 2>/dev/null || { cat "$log" >&2; fail "the server exited before it was ready (its log is above)"; }
    if [ -z "$url" ]; then
        url="$(grep -Eo 'listening on http://[0-9.]+:[0-9]+' "$log" | head -n 1 | sed 's/^listening on //' || true)"
    fi
    if [ -n "$url" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/health/ready" || true)" = 200 ]; then
        break
    fi
    [ "$SECONDS" -lt "$deadline" ] || { cat "$log" >&2; fail "the server was not ready within 60 s (its log is above)"; }
    sleep 0.1
done
say "server ready at $url ($bin)"
python3 deploy/metrics.py exercise "$url" >&2 || { cat "$log" >&2; fail "booking on the server failed (its log is above)"; }

curl -fsS "$url/metrics" >"$work/metrics" || fail "GET $url/metrics failed"
if ! python3 deploy/metrics.py missing "$work/metrics"; then
    fail "the rules or the dashboard use metrics $bin does not export (listed above)"
fi
say "ok"
