#!/usr/bin/env bash
# The OpenAPI contract, enforced: schemathesis (PyPI) against a live server on
# a fresh database, with the contract's checks — no 5xx, every status code
# documented, every body (errors included) matching its documented schema,
# content types and headers as documented. Bounded: at most $ST_EXAMPLES cases
# per operation and $ST_TIMEOUT seconds. Seeded ($ST_SEED) so a failure replays.
set -euo pipefail
cd "$(dirname "$0")/../.."

examples="${ST_EXAMPLES:-60}"
seed="${ST_SEED:-20261202}"
budget="${ST_TIMEOUT:-600}"
port="${ST_PORT:-18090}"
venv=target/schemathesis
version=4.32.5

if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
    echo "installing schemathesis $version into $venv (from PyPI)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

bin="${REQUEST_DESK_BIN:-target/debug/request-desk}"
# A fresh migrated database (on DATABASE_URL's server, else the test cluster), as every suite gets one.
db_url="$("$bin" local-db --test --new-database --prefix contract)"
log="target/schemathesis/server.log"
DATABASE_URL="$db_url" JWT_SECRET="contract-test-secret-0123456789" SEED_DEMO=true \
    BIND_ADDR="127.0.0.1:$port" WEB_DIST_DIR=/nonexistent "$bin" serve >"$log" 2>&1 &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    # The run's database goes with it (as every suite's does).
    psql -q "${db_url%/*}/postgres" -c "DROP DATABASE IF EXISTS \"${db_url##*/}\" WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

url="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
    curl -fsS "$url/health/ready" >/dev/null 2>&1 && break
    sleep 0.1
done
token=$(curl -fsS -X POST "$url/api/auth/login" -H 'content-type: application/json' \
    -d '{"email":"admin@example.com","password":"demo-password"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

echo "schemathesis: $examples examples per operation, seed $seed, at most ${budget}s"
# From its own directory: schemathesis keeps a cache (.schemathesis/) where it runs.
cd "$venv"
timeout "$budget" bin/schemathesis run "$url/api/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --max-examples "$examples" --seed "$seed" --continue-on-failure \
    --report junit --report-dir report
