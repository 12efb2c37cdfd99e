# Request Desk — `just` lists the recipes.

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# Run the service with zero configuration: local PostgreSQL, demo users, web client (built if Node is present).
run: web-if-node
    cargo run --bin request-desk

# Run every test: Rust unit and integration tests, the hub suite with the official SignalR client, the web client's unit tests and its end-to-end tests in Chromium.
test: test-rust test-hub test-web e2e

# Rust tests (domain units, adapters and HTTP against a real PostgreSQL).
test-rust:
    if cargo nextest --version >/dev/null 2>&1; then cargo nextest run --workspace; else cargo test --workspace; fi

# The hub suite: the real @microsoft/signalr client against the real server.
test-hub:
    cargo build --workspace --tests
    cd tests/hub && npm ci --no-audit --no-fund
    cd tests/hub && DATABASE_URL="${DATABASE_URL:-$(../../target/debug/request-desk local-db --test)}" npm test

# The web client's unit tests (Vitest).
test-web:
    cd web && npm ci --no-audit --no-fund && npm test

# The web client end to end in real Chromium (the server over a fresh database): live updates, phones, axe-core, both languages. Writes no tracked file.
e2e: web
    cargo build --workspace --tests
    cd web && DATABASE_URL="${DATABASE_URL:-$(../target/debug/request-desk local-db --test)}" npm run e2e

# The e2e run that also refreshes docs/screenshots/ (desktop and phone, English and Persian).
screenshots: web
    cargo build --bin request-desk
    cd web && E2E_SCREENSHOTS=1 DATABASE_URL="${DATABASE_URL:-$(../target/debug/request-desk local-db --test)}" npm run e2e

# Formatting and lints, as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Everything CI checks.
ci: lint test

# Apply migrations to DATABASE_URL (or the local dev database).
migrate:
    cargo run --bin request-desk -- migrate

# Install and build the web client into web/dist.
web:
    cd web && npm ci --no-audit --no-fund && npm run build

# Build the web client when Node is installed and the client exists; otherwise the API runs alone.
[private]
web-if-node:
    if [ -f web/package.json ] && command -v npm >/dev/null 2>&1; then just web; else echo "web client not built (needs Node.js and web/); the API still runs"; fi

# Stop the local dev and test PostgreSQL clusters.
stop-db:
    cargo run --quiet --bin request-desk -- local-db --stop || true
    cargo run --quiet --bin request-desk -- local-db --test --stop || true

# Benchmark suite (release build): 1,000, 10,000 and 50,000 hub connections (50,000 only where the open-file limit can be raised), 500 contended bookings, availability, refetch stampede; rewrites docs/benchmarks.md.
bench:
    cargo build --release -p request-desk-server -p request-desk-bench
    ulimit -n 250000 2>/dev/null || true; target/release/request-desk-bench suite --connections 1000,10000,50000 --bookings 500 --wait-quiet-secs 300 --json target/bench/report.json --markdown docs/benchmarks.md --command "just bench"

# A short benchmark (1,000 connections, 200 bookings, 24 people with and without holds) that runs in well under two minutes once built; prints the table.
bench-quick:
    cargo build --release -p request-desk-server -p request-desk-bench
    target/release/request-desk-bench suite --connections 1000 --probes 20 --bookings 200 --availability-samples 100 --stampede-bookings 10 --stampede-interval-ms 300 --users 8 --hold-users 24 --hold-loop-seconds 1 --json target/bench/quick.json --command "just bench-quick"
