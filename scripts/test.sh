#!/usr/bin/env bash
# The whole test suite, from a fresh machine: setup (idempotent; it type-checks every package
# through turbo), lint, unit tests,
# integration tests (real bwrap, FUSE, redis-server). This is what CI runs.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash scripts/setup.sh
source scripts/env.sh
step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
step "lint (eslint type-aware + prettier)"
npm run --silent lint
step "unit tests"
npx vitest run --project unit
step "integration tests"
npx vitest run --project integration --passWithNoTests
