"""Writes the tiny random-weight model package the daemon tests render with
(Tests/TwinDaemonTests/Fixtures/tiny-model). Same architecture and file format as the shipped
model, a few hundred KB, so process-level tests render real (if meaningless) images in
milliseconds. Run: scripts/.venv/bin/python scripts/reference/make_tiny_model.py"""

import hashlib
import json
import os
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
import twinnet  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "TwinDaemonTests", "Fixtures", "tiny-model")
VOCABS = [("garment", ["t-shirt", "dress", "jacket", "coat", "skirt", "jeans"]),
          ("colour", ["red", "orange", "yellow", "green", "teal", "blue", "purple", "pink"]),
          ("pattern", ["plain", "stripes", "dots"]),
          ("pose", ["arms-down", "arms-crossed", "hand-on-hip", "walking"]),
          ("background", ["grey", "cream", "sky", "sage"])]
TWINS = ["ava", "bea", "cleo", "dana"]


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def main():
    torch.manual_seed(7)
    cfg = dict(latent_channels=4, channels=16, channel_mult=[1, 2], num_res_blocks=1, norm_groups=4, heads=2,
               emb_dim=32, ctx_dim=16, identity_dim=8, vocab_sizes=[len(v) for _, v in VOCABS])
    os.makedirs(os.path.join(OUT, "twins"), exist_ok=True)
    den, dec = twinnet.Denoiser(cfg), twinnet.Decoder(4, 8)
    save_file({k: v.contiguous() for k, v in den.state_dict().items()}, os.path.join(OUT, "denoiser.safetensors"))
    save_file({k: v.contiguous() for k, v in dec.state_dict().items()}, os.path.join(OUT, "decoder.safetensors"))
    twins = []
    for t in TWINS:
        path = os.path.join(OUT, "twins", f"{t}.safetensors")
        save_file({"identity": torch.randn(cfg["identity_dim"])}, path)
        twins.append({"id": t, "file": f"twins/{t}.safetensors", "sha256": sha(path)})
    denoiser = {"file": "denoiser.safetensors", "sha256": sha(os.path.join(OUT, "denoiser.safetensors"))}
    denoiser.update({k: v for k, v in cfg.items() if k not in ("latent_channels", "vocab_sizes")})
    manifest = {
        "format": "twinrender-model/1", "name": "tiny-test", "image": {"width": 128, "height": 128},
        "latent": {"channels": 4, "downscale": 8, "scale_factor": 1.0},
        "denoiser": denoiser,
        "decoder": {"file": "decoder.safetensors", "sha256": sha(os.path.join(OUT, "decoder.safetensors")), "width": 8},
        "conditioning": {"vocabularies": [{"name": n, "values": v} for n, v in VOCABS]},
        "schedule": {"train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "prediction": "epsilon"},
        "sampler_defaults": {"sampler": "ddim", "steps": 4, "guidance": 3.0},
        "twins": twins,
    }
    with open(os.path.join(OUT, "model.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
