"""Widen 4-channel-latent checkpoints to the pool encoder's 8 channels, to warm-start training.

Reads denoiser.pt and decoder.pt of a 4-channel run from `--from` and writes them to
scripts/work/ckpt with the latent convolutions zero-extended: the decoder's conv_in gains zero
input taps for channels 4-7, the denoiser's conv_in zero input taps and its conv_out zero
output rows. The widened networks compute exactly what the old ones did on channels 0-3 (the
new denoiser outputs start at 0, the prior mean of epsilon), so training continues from the
shipped quality instead of from scratch. Optimiser states are fresh (their shapes changed);
step counts carry over.

    mkdir -p scripts/work/ckpt-4ch && mv scripts/work/ckpt/{denoiser,decoder}.pt scripts/work/ckpt-4ch/
    scripts/.venv/bin/python scripts/train/widen_latent.py --from scripts/work/ckpt-4ch
    scripts/.venv/bin/python scripts/train/train_decoder.py --encode --scale-factor 2.2600626945495605
"""

import argparse
import os

import torch

from common import CKPT, DECODER_WIDTH, DENOISER_CFG, LATENT_CHANNELS, TWIN_IDS, save_atomic, setup, twinnet
from train_denoiser import Conditioner


def widen(state, key, dim, channels):
    """Zero-extend tensor `state[key]` along `dim` to `channels`."""
    w = state[key]
    if w.shape[dim] == channels:
        raise SystemExit(f"{key} already has {channels} latent channels")
    shape = list(w.shape)
    shape[dim] = channels - w.shape[dim]
    state[key] = torch.cat([w, w.new_zeros(shape)], dim=dim)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from", dest="source", required=True, help="directory with the 4-channel denoiser.pt and decoder.pt")
    args = ap.parse_args()
    setup(1)
    for name in ("denoiser.pt", "decoder.pt"):
        if os.path.exists(os.path.join(CKPT, name)):
            raise SystemExit(f"{CKPT}/{name} exists; move it away first")

    den = torch.load(os.path.join(args.source, "denoiser.pt"))
    for part in ("model", "ema_model"):
        widen(den[part], "conv_in.weight", 1, LATENT_CHANNELS)
        widen(den[part], "conv_out.weight", 0, LATENT_CHANNELS)
        widen(den[part], "conv_out.bias", 0, LATENT_CHANNELS)
    model, cond = twinnet.Denoiser(DENOISER_CFG), Conditioner(len(TWIN_IDS), DENOISER_CFG["identity_dim"])
    model.load_state_dict(den["model"]), cond.load_state_dict(den["cond"])
    den["opt"] = torch.optim.AdamW(list(model.parameters()) + list(cond.parameters()), lr=1e-3, weight_decay=0.0).state_dict()
    den["cfg"] = DENOISER_CFG
    den["args"] = {"widened_from": args.source, "at_step": den["step"]}
    save_atomic(den, os.path.join(CKPT, "denoiser.pt"))

    dec = torch.load(os.path.join(args.source, "decoder.pt"))
    widen(dec["decoder"], "1.weight", 1, LATENT_CHANNELS)
    net = twinnet.Decoder(LATENT_CHANNELS, DECODER_WIDTH)
    net.load_state_dict(dec["decoder"])
    dec["opt"] = torch.optim.Adam(net.parameters(), lr=1e-3).state_dict()
    save_atomic(dec, os.path.join(CKPT, "decoder.pt"))
    print(f"widened {args.source} to {LATENT_CHANNELS} latent channels in {CKPT} "
          f"(denoiser step {den['step']}, decoder step {dec['step']})")


if __name__ == "__main__":
    main()
