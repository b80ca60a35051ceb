#!/usr/bin/env bash
# Formats the C++ sources with clang-format; --check only reports files that differ.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mapfile -t FILES < <(git ls-files '*.h' '*.cpp')
if ! command -v clang-format >/dev/null; then
  echo "[format] clang-format not found; skipping" >&2
  exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
  clang-format --dry-run --Werror "${FILES[@]}"
  echo "[format] ${#FILES[@]} files formatted correctly" >&2
else
  clang-format -i "${FILES[@]}"
fi
