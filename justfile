# Request Desk — `just` lists the recipes.

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# Run the service with zero configuration: local PostgreSQL, demo users, web client (built if Node is present).
run: web-if-node
    cargo run --bin request-desk

# Run every test: Rust unit and integration tests, then the hub suite with the official SignalR client.
test: test-rust test-hub

# Rust tests (domain units, adapters and HTTP against a real PostgreSQL).
test-rust:
    if cargo nextest --version >/dev/null 2>&1; then cargo nextest run --workspace; else cargo test --workspace; fi

# The hub suite: the real @microsoft/signalr client against the real server.
test-hub:
    cargo build --workspace --tests
    cd tests/hub && npm ci --no-audit --no-fund
    cd tests/hub && DATABASE_URL="${DATABASE_URL:-$(../../target/debug/request-desk local-db --test)}" npm test

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
