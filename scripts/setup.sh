#!/usr/bin/env bash
# Installs what nasforge needs on a fresh Debian machine (idempotent), then configures and builds
# it in Release. LibTorch comes from the official PyTorch wheel, installed once into a cache folder
# outside the clone ($NASFORGE_CACHE, default ~/.cache/nasforge) so every clone reuses it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${NASFORGE_CACHE:-$HOME/.cache/nasforge}"
TORCH_VERSION="2.11.0"
TORCH_HOME_DIR="$CACHE/torch-$TORCH_VERSION"
BUILD_DIR="${NASFORGE_BUILD_DIR:-$ROOT/build}"
# chromium: the [browser] tests render `nasforge report`'s HTML headless and check the drawing.
DEBS=(cmake g++ make python3-pip nlohmann-json3-dev libsqlite3-dev libtbb-dev catch2 zlib1g-dev
      ccache dataset-fashion-mnist pkg-config libturbojpeg0-dev libspng-dev libzip-dev
      libcli11-dev chromium)

say() { echo "[setup] $*" >&2; }

missing=()
for pkg in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ ! -f "$TORCH_HOME_DIR/.complete" ]]; then
  say "installing PyTorch $TORCH_VERSION (LibTorch) into $TORCH_HOME_DIR"
  # Install beside the final place and rename, so an interrupted install never looks complete.
  PARTIAL="$TORCH_HOME_DIR.partial.$$"
  mkdir -p "$CACHE"
  rm -rf "$PARTIAL"
  python3 -m pip install -q --disable-pip-version-check --no-warn-script-location \
    --target "$PARTIAL" "torch==$TORCH_VERSION"
  touch "$PARTIAL/.complete"
  rm -rf "$TORCH_HOME_DIR"
  mv "$PARTIAL" "$TORCH_HOME_DIR"
fi
# Python packages for checking exports (onnx, ONNX Runtime) and for bench/data's comparison (Pillow,
# torchvision built for this torch), in a folder of their own beside LibTorch. The nasforge binary
# and the tests run Python as: PYTHONPATH=$TORCH_HOME_DIR:$PY_EXTRAS_DIR python3.
PY_EXTRAS_DIR="$CACHE/py-extras-$TORCH_VERSION"
PY_EXTRAS=(onnx onnxruntime numpy pillow "torchvision==0.26.0")
if [[ ! -f "$PY_EXTRAS_DIR/.complete" ]]; then
  say "installing Python packages for export checks: ${PY_EXTRAS[*]} into $PY_EXTRAS_DIR"
  PARTIAL="$PY_EXTRAS_DIR.partial.$$"
  rm -rf "$PARTIAL"
  # torchvision without its dependencies: torch is the one above, not a second copy.
  python3 -m pip install -q --disable-pip-version-check --no-warn-script-location \
    --target "$PARTIAL" onnx onnxruntime numpy pillow
  python3 -m pip install -q --disable-pip-version-check --no-warn-script-location --no-deps \
    --target "$PARTIAL" "torchvision==0.26.0"
  touch "$PARTIAL/.complete"
  rm -rf "$PY_EXTRAS_DIR"
  mv "$PARTIAL" "$PY_EXTRAS_DIR"
fi

TORCH_PREFIX="$(cd "$TORCH_HOME_DIR" && PYTHONPATH="$TORCH_HOME_DIR" python3 -W ignore -c \
  'import torch.utils; print(torch.utils.cmake_prefix_path)' 2>/dev/null | tail -n1)"
[[ -d "$TORCH_PREFIX" ]] || { say "cannot locate LibTorch's CMake files under $TORCH_HOME_DIR"; exit 1; }

CMAKE_ARGS=(-S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX"
            -DNASFORGE_PYTHONPATH="$TORCH_HOME_DIR:$PY_EXTRAS_DIR")
[[ "${CI:-}" == "true" ]] && CMAKE_ARGS+=(-DNASFORGE_WERROR=ON)
mkdir -p "$BUILD_DIR"
say "configuring in $BUILD_DIR"
cmake "${CMAKE_ARGS[@]}" >"$BUILD_DIR/configure.log" 2>&1 || { cat "$BUILD_DIR/configure.log"; exit 1; }
say "building (this takes a while on 2 cores the first time; ccache speeds up later builds)"
cmake --build "$BUILD_DIR" -j"$(nproc)" "$@"
