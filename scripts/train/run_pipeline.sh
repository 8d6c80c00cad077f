#!/bin/sh
# The recipe of the shipped Models/twin-mini-v1, sized for a 2-core CPU shared with other work.
# Step counts are the shipped ones; every stage checkpoints and resumes, and a finished stage is
# skipped, so rerun this script after an interruption.
#
#   stage 1  4-channel latents (TWIN_LATENT_CHANNELS=4): decoder 11 825 steps; denoiser 6 000
#            steps (lr 2e-3, EMA 0.995)
#   stage 2  denoiser restarted from the stage-1 export with a fresh AdamW state, on to 29 000
#            steps (lr 1e-3, EMA 0.999)
#   stage 3  8-channel latents: both networks widened (widen_latent.py), decoder on to
#            $DEC_STEPS, denoiser on to $DEN_STEPS (lr 1e-3, EMA 0.999)
#
# Usage: scripts/train/run_pipeline.sh          (about 3.5 h of CPU on this host in all)
set -eu
cd "$(dirname "$0")/../.."
PY=scripts/.venv/bin/python
W=scripts/work
DEC_STEPS=${DEC_STEPS:-67572}
DEN_STEPS=${DEN_STEPS:-58392}
export OMP_NUM_THREADS=1
[ -f $W/data/train.npz ] || $PY scripts/dataset/build.py --seed 1 --count 8000 --out $W/data/train.npz
[ -f $W/data/heldout.npz ] || $PY scripts/dataset/build.py --seed 2 --count 1000 --out $W/data/heldout.npz

if [ ! -f $W/stage1.done ]; then (
    export TWIN_LATENT_CHANNELS=4
    [ -f $W/ckpt/latents.pt ] || $PY scripts/train/train_decoder.py --encode
    # Decoder and denoiser are independent (the encoder is fixed): train them side by side.
    $PY scripts/train/train_decoder.py --minutes 0 --max-steps 11825 --threads 1 &
    DEC=$!
    $PY scripts/train/train_denoiser.py --minutes 0 --max-steps 6000 --threads 1
    wait $DEC
    $PY scripts/train/export.py --out $W/pkg-stage1
    mkdir -p $W/ckpt-stage1 && mv $W/ckpt/denoiser.pt $W/ckpt/decoder.pt $W/ckpt-stage1/
    $PY scripts/train/resume_from_package.py --package $W/pkg-stage1 --step 6000 --decoder-step 11825
    touch $W/stage1.done
) fi
if [ ! -f $W/stage2.done ]; then
    TWIN_LATENT_CHANNELS=4 $PY scripts/train/train_denoiser.py --minutes 0 --max-steps 29000 --lr 1e-3 --ema 0.999 --threads 1
    mkdir -p $W/ckpt-4ch && mv $W/ckpt/denoiser.pt $W/ckpt/decoder.pt $W/ckpt/latents.pt $W/ckpt-4ch/
    $PY scripts/train/widen_latent.py --from $W/ckpt-4ch
    $PY scripts/train/train_decoder.py --encode --scale-factor "$($PY -c "import torch; print(torch.load('$W/ckpt-4ch/denoiser.pt')['scale_factor'])")"
    touch $W/stage2.done
fi
$PY scripts/train/train_decoder.py --minutes 0 --max-steps "$DEC_STEPS" --threads 1 --ckpt-every 50 &
DEC=$!
$PY scripts/train/train_denoiser.py --minutes 0 --max-steps "$DEN_STEPS" --lr 1e-3 --ema 0.999 --threads 1 --ckpt-every 50
wait $DEC
$PY scripts/train/train_decoder.py --psnr
$PY scripts/train/export.py
