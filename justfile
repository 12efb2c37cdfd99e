# Request Desk — `just` lists the recipes.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Dev mode's directory (local clusters, dev secret), explicit so that every
# recipe and the binary agree whatever checkout built the binary last.
export LOCAL_DB_DIR := env_var_or_default("LOCAL_DB_DIR", justfile_directory() / ".data")
server_bin := env_var_or_default("CARGO_TARGET_DIR", justfile_directory() / "target") / "debug/request-desk"
export REQUEST_DESK_BIN := env_var_or_default("REQUEST_DESK_BIN", server_bin)
# Cargo features for every build, e.g. `request-desk-server/bundled-libpq`
# (libpq built from source; tools/dev sets it when libpq-dev is missing).
features := if env_var_or_default("REQUEST_DESK_FEATURES", "") == "" { "" } else { "--features " + env_var("REQUEST_DESK_FEATURES") }

# List the recipes.
default:
    @just --list

# Run the service with zero configuration: local PostgreSQL, demo users, web client (built if Node is present).
run: web-if-node
    cargo run {{features}} --bin request-desk

# Run every test: Rust unit and integration tests, the hub suite with the official SignalR client, the web client's unit tests and its end-to-end tests in Chromium, and the operator kit (alert rules, dashboard, metric names).
test: test-rust test-contract test-hub test-web e2e deploy-check

# Rust tests (domain units, adapters and HTTP against a real PostgreSQL).
test-rust:
    if cargo nextest --version >/dev/null 2>&1; then cargo nextest run --workspace {{features}}; else cargo test --workspace {{features}}; fi

# The OpenAPI contract enforced by schemathesis (PyPI, into target/schemathesis) against a live server: no 5xx, documented statuses and bodies; and the web client's generated types up to date with it.
test-contract:
    cargo build {{features}} --bin request-desk
    tests/contract/run.sh
    @# The web client's wire types are generated from this document: they must be up to date.
    just npm-packages web
    cd web && npm run openapi:check

# Print the OpenAPI document (what GET /api/openapi.json serves).
openapi:
    @cargo run --quiet --bin request-desk -- openapi

# The hub suite: the real @microsoft/signalr client against the real server.
test-hub:
    cargo build --workspace --tests {{features}}
    just npm-packages tests/hub
    cd tests/hub && npm test

# The web client's unit tests (Vitest).
test-web: (npm-packages "web")
    cd web && npm test

# The web client end to end in real Chromium (the server over a fresh database): live updates, phones, axe-core, both languages. Writes no tracked file.
e2e: web
    cargo build --workspace --tests {{features}}
    cd web && npm run e2e

# The e2e run that also refreshes docs/screenshots/ (desktop and phone, English and Persian).
screenshots: web
    cargo build {{features}} --bin request-desk
    cd web && E2E_SCREENSHOTS=1 npm run e2e

# deploy/: promtool checks and tests the alert rules, parses the dashboard's PromQL, and every metric they use must be on a live server's /metrics.
deploy-check:
    cargo build {{features}} --bin request-desk
    deploy/check.sh

# Formatting and lints, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets {{features}} -- -D warnings
    @# The domain stays pure: no database, network, runtime or web crate among its dependencies.
    if cargo tree -p request-desk-domain -e normal --prefix none --all-features | grep -E '^(diesel|r2d2|postgres|tokio|mio|hyper|reqwest|actix|signalr|libc|socket2) '; then echo "the domain crate must not depend on the I/O crates above" >&2; exit 1; fi

# Everything CI checks.
ci: lint test

# Apply migrations to DATABASE_URL (or the local dev database).
migrate:
    cargo run {{features}} --bin request-desk -- migrate

# Install and build the web client into web/dist (each step only when its inputs changed).
web: (npm-packages "web")
    @if [ -f web/dist/index.html ] && [ -z "$(find web/src web/scripts web/index.html web/package.json web/package-lock.json web/vite.config.ts web/tsconfig.json -newer web/dist/index.html -print -quit)" ]; then echo "web/dist is up to date"; else cd web && npm run build; fi

# `npm ci` in a directory, unless its node_modules was installed after package-lock.json last changed.
[private]
npm-packages dir:
    @if [ -f "{{dir}}/node_modules/.package-lock.json" ] && [ "{{dir}}/node_modules/.package-lock.json" -nt "{{dir}}/package-lock.json" ]; then echo "{{dir}}: npm packages are up to date"; else cd "{{dir}}" && npm ci --no-audit --no-fund; fi

# Build the web client when Node is installed and the client exists; otherwise the API runs alone.
[private]
web-if-node:
    if [ -f web/package.json ] && command -v npm >/dev/null 2>&1; then just web; else echo "web client not built (needs Node.js and web/); the API still runs"; fi

# Stop the local dev and test PostgreSQL clusters if they run (builds and starts nothing).
stop-db:
    @if [ -x "{{server_bin}}" ]; then "{{server_bin}}" local-db --stop; "{{server_bin}}" local-db --test --stop; else echo "no request-desk binary at {{server_bin}}: nothing was started by it"; fi

# The release binary, with the web client and the API reference built into it: target/release/request-desk serves the whole product from any directory with only DATABASE_URL and JWT_SECRET set (WEB_DIST_DIR still overrides).
release: web
    cargo build --release {{features}} --bin request-desk

# Benchmark suite (release build): 1,000, 10,000 and 50,000 hub connections (50,000 only where the open-file limit can be raised), 500 contended bookings, availability, refetch stampede; rewrites docs/benchmarks.md.
bench:
    cargo build --release -p request-desk-server -p request-desk-bench
    ulimit -n 250000 2>/dev/null || true; target/release/request-desk-bench suite --connections 1000,10000,50000 --bookings 500 --wait-quiet-secs 300 --json target/bench/report.json --markdown docs/benchmarks.md --command "just bench"

# The soak (release build, about 11 minutes): 10 minutes of steady bookings, holds and cancellations with 5,000 hub viewers, a tenth reconnecting every minute; fails if the server's memory, descriptors, threads, hub tasks or database connections grow from the middle to the end beyond their allowance. Not part of `just test`.
soak *ARGS:
    cargo build --release -p request-desk-server -p request-desk-bench
    ulimit -n 20000 2>/dev/null || true; target/release/request-desk-bench soak --fd-limit 20000 {{ARGS}}

# A short benchmark (1,000 connections, 200 bookings, 24 people with and without holds) that runs in well under two minutes once built; prints the table.
bench-quick:
    cargo build --release -p request-desk-server -p request-desk-bench
    target/release/request-desk-bench suite --connections 1000 --probes 20 --bookings 200 --availability-samples 100 --stampede-bookings 10 --stampede-interval-ms 300 --users 8 --hold-users 24 --hold-loop-seconds 1 --json target/bench/quick.json --command "just bench-quick"
