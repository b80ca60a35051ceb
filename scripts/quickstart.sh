#!/usr/bin/env bash
# Sets everything up (idempotent), runs the quickstart search on Fashion-MNIST (CPU if no GPU),
# writes its HTML report, and prints the best network, the report's path and the export command.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh" --target nasforge
STAMP="$(date +%Y%m%d-%H%M%S)"
DB="${NASFORGE_QUICKSTART_DB:-$ROOT/runs/quickstart-$STAMP.db}"
REPORT="${DB%.db}.html"
mkdir -p "$(dirname "$DB")"
START=$(date +%s)
"$ROOT/build/nasforge" run "$ROOT/experiments/quickstart.json" --db "$DB"
echo "search took $(( $(date +%s) - START )) s"
"$ROOT/build/nasforge" report --db "$DB" --out "$REPORT"
echo
echo "database: $DB"
echo "report:   $REPORT   (open it in a browser; it needs no network)"
echo "export:   build/nasforge export --db $DB --out best/   (JSON, weights, model.py, ONNX)"
