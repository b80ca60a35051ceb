#!/usr/bin/env bash
# Sets everything up (idempotent) and runs the quickstart search on Fashion-MNIST
# (CPU if no GPU), then prints the trials and the best validation accuracy.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh" --target nasforge
DB="${NASFORGE_QUICKSTART_DB:-$ROOT/runs/quickstart-$(date +%Y%m%d-%H%M%S).db}"
"$ROOT/build/nasforge" run "$ROOT/experiments/quickstart.json" --db "$DB"
echo "database: $DB (try: build/nasforge status --db $DB; build/nasforge export --db $DB --out best/)"
