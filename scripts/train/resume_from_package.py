"""Seed the training checkpoints from a shipped model package, to train it further.

The checkpoints under scripts/work/ckpt are git-ignored, so a later session no longer has them;
the package has the EMA weights. This writes ckpt/denoiser.pt (model = EMA = the package's
denoiser and identity table, a fresh AdamW state, step = the package's step count from
`--step`) and ckpt/decoder.pt (the package's decoder, `--decoder-step`), after which
`train_denoiser.py --max-steps N --lr ...` continues from step `--step` with the batches an
uninterrupted run would have drawn there, and `export.py` writes the package again.
A package with a 4-channel latent (the first twin-mini-v1) needs TWIN_LATENT_CHANNELS=4.

    scripts/.venv/bin/python scripts/train/resume_from_package.py --package Models/twin-mini-v1 \
        --step 6000 --decoder-step 11825
"""

import argparse
import json
import os

import torch
from safetensors.torch import load_file

from common import CKPT, DECODER_WIDTH, DENOISER_CFG, LATENT_CHANNELS, TWIN_IDS, save_atomic, setup, twinnet
from train_denoiser import Conditioner


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", required=True)
    ap.add_argument("--step", type=int, required=True, help="denoiser steps the package was trained for")
    ap.add_argument("--decoder-step", type=int, required=True, help="decoder steps the package was trained for")
    ap.add_argument("--seed", type=int, default=4321, help="the denoiser run's seed (train_denoiser.py --seed)")
    args = ap.parse_args()
    setup(1)
    with open(os.path.join(args.package, "model.json")) as f:
        manifest = json.load(f)
    if [t["id"] for t in manifest["twins"]] != list(TWIN_IDS):
        raise SystemExit(f"package twins {[t['id'] for t in manifest['twins']]} differ from the recipe's {TWIN_IDS}")
    if manifest["latent"]["channels"] != LATENT_CHANNELS:
        raise SystemExit(f"package latent has {manifest['latent']['channels']} channels, the recipe {LATENT_CHANNELS}; "
                         f"set TWIN_LATENT_CHANNELS={manifest['latent']['channels']}")
    if os.path.exists(os.path.join(CKPT, "denoiser.pt")) or os.path.exists(os.path.join(CKPT, "decoder.pt")):
        raise SystemExit(f"{CKPT} already has checkpoints; remove them first")

    model = twinnet.Denoiser(DENOISER_CFG)
    model.load_state_dict(load_file(os.path.join(args.package, manifest["denoiser"]["file"])))
    cond = Conditioner(len(TWIN_IDS), DENOISER_CFG["identity_dim"])
    with torch.no_grad():
        for i, twin in enumerate(manifest["twins"]):
            cond.identity.weight[i] = load_file(os.path.join(args.package, twin["file"]))["identity"]
    opt = torch.optim.AdamW(list(model.parameters()) + list(cond.parameters()), lr=1e-3, weight_decay=0.0)
    save_atomic({"model": model.state_dict(), "cond": cond.state_dict(), "ema_model": model.state_dict(),
                 "ema_cond": cond.state_dict(), "opt": opt.state_dict(), "step": args.step, "log": [], "seconds": 0.0,
                 "seed": args.seed, "cfg": DENOISER_CFG, "scale_factor": manifest["latent"]["scale_factor"],
                 "args": {"resumed_from": args.package}}, os.path.join(CKPT, "denoiser.pt"))

    dec = twinnet.Decoder(LATENT_CHANNELS, DECODER_WIDTH)
    dec.load_state_dict(load_file(os.path.join(args.package, manifest["decoder"]["file"])))
    dec_opt = torch.optim.Adam(dec.parameters(), lr=1e-3)
    save_atomic({"decoder": dec.state_dict(), "opt": dec_opt.state_dict(), "step": args.decoder_step, "log": [], "seconds": 0.0},
                os.path.join(CKPT, "decoder.pt"))
    print(f"seeded {CKPT} from {args.package} (denoiser step {args.step}, decoder step {args.decoder_step})")


if __name__ == "__main__":
    main()
