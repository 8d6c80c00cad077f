"""Classifier accuracy on real held-out images passed through the latent space and back.

decoder(encode(x)) with the training-only pool encoder and the shipped decoder: what the
classifier sees when the denoiser produced *perfect* latents. The gap between this and the
generated-image accuracy is the denoiser's; the gap between this and 100 % is the autoencoder's.

    scripts/.venv/bin/python scripts/eval/recon_ceiling.py
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
from classifier import HEADS, load, predict  # noqa: E402
from common import DATA, ROOT, setup, to_tensor  # noqa: E402
from pool_encoder import encode  # noqa: E402
from sample_torch import Package  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "Models", "twin-mini-v1"))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    setup(args.threads)
    pkg = Package(args.model)
    held = np.load(os.path.join(DATA, "heldout.npz"))
    out = []
    with torch.no_grad():
        for i in range(0, len(held["images"]), 100):
            x = to_tensor(held["images"][i:i + 100])
            img = pkg.decoder(encode(x, pkg.meta["latent"]["channels"])).clamp(0, 1)
            out.append((img.permute(0, 2, 3, 1).numpy() * 255 + 0.5).astype(np.uint8))
    pred = predict(load(), np.concatenate(out))
    report = {name: float((pred[:, i] == held["labels"][:, col]).mean()) for i, (name, col, _) in enumerate(HEADS)}
    report["images"] = int(len(pred))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
