#!/bin/sh
# The whole recipe, sized for a 2-core CPU shared with other work. Every stage is resumable:
# rerun this script after an interruption and finished stages are skipped or resumed.
# Usage: scripts/train/run_pipeline.sh [MINUTES]   (wall-time budget of the two training runs)
set -eu
cd "$(dirname "$0")/../.."
PY=scripts/.venv/bin/python
MIN=${1:-40}
[ -f scripts/work/data/train.npz ] || $PY scripts/dataset/build.py --seed 1 --count 8000 --out scripts/work/data/train.npz
[ -f scripts/work/data/heldout.npz ] || $PY scripts/dataset/build.py --seed 2 --count 1000 --out scripts/work/data/heldout.npz
[ -f scripts/work/ckpt/latents.pt ] || $PY scripts/train/train_decoder.py --encode
# Decoder and denoiser are independent (the encoder is fixed): train them side by side.
$PY scripts/train/train_decoder.py --minutes "$MIN" &
DEC=$!
$PY scripts/train/train_denoiser.py --minutes "$MIN"
wait $DEC
$PY scripts/train/train_decoder.py --psnr
$PY scripts/train/export.py
