#!/usr/bin/env bash
# Sets everything up (idempotent), builds everything, and runs the whole test suite with ctest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
if [[ "${CI:-}" == "true" ]]; then
  "$ROOT/scripts/format.sh" --check
fi
cd "$ROOT/build"
OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" ctest --output-on-failure --timeout 1200 "$@"
