#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks: Tesseract with its Japanese and English models, CJK and
# Latin fonts, desktop-background photographs, and a Python virtual environment (.venv) with the pinned
# requirements. Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert tesseract-ocr-eng
  fonts-noto-cjk fonts-ipafont-gothic fonts-ipafont-mincho fonts-ipaexfont fonts-vlgothic fonts-takao-mincho
  fonts-urw-base35 fonts-freefont-ttf fonts-liberation fonts-dejavu-core  # Latin type for us_firms
  mate-backgrounds plasma-workspace-wallpapers lomiri-wallpapers-20.04)  # news_wire's photographs (data/photos.py)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[install] apt: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[install] creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
if ! cmp -s requirements.txt .venv/.requirements; then
  echo "[install] pip install -r requirements.txt"
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  cp requirements.txt .venv/.requirements
fi
# The library itself, editable, for the Python API and the tests (the workflow's steps find it without this).
.venv/bin/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
echo "[install] ready: $(.venv/bin/python -c 'import torch, open_clip, faiss; print("torch", torch.__version__, "open_clip", open_clip.__version__, "faiss", faiss.__version__)')"
