"""Export the trained networks to the twinrender model package (format "twinrender-model/1").

Writes Models/<name>/: model.json, denoiser.safetensors (EMA weights), decoder.safetensors,
twins/<id>.safetensors (one `identity` tensor each). Tensor names are twinnet's state_dict()
names, all float32. Hashes are SHA-256 of the files as written.

    scripts/.venv/bin/python scripts/train/export.py [--out Models/twin-mini-v1]
"""

import argparse
import hashlib
import json
import os

import torch
from safetensors.torch import save_file

from common import CKPT, DECODER_WIDTH, DENOISER_CFG, LATENT_CHANNELS, ROOT, SCHEDULE, TWIN_IDS, VOCABULARIES


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write(tensors, path):
    save_file({k: v.detach().float().contiguous() for k, v in tensors.items()}, path)
    return sha256(path)


def export(out, name):
    den = torch.load(os.path.join(CKPT, "denoiser.pt"))
    ae = torch.load(os.path.join(CKPT, "decoder.pt"))
    os.makedirs(os.path.join(out, "twins"), exist_ok=True)
    den_sha = write(den["ema_model"], os.path.join(out, "denoiser.safetensors"))
    dec_sha = write(ae["decoder"], os.path.join(out, "decoder.safetensors"))
    table = den["ema_cond"]["identity.weight"]
    twins = []
    for i, tid in enumerate(TWIN_IDS):
        rel = f"twins/{tid}.safetensors"
        twins.append({"id": tid, "file": rel, "sha256": write({"identity": table[i]}, os.path.join(out, rel))})
    cfg = {k: DENOISER_CFG[k] for k in ("channels", "channel_mult", "num_res_blocks", "norm_groups", "heads",
                                       "emb_dim", "ctx_dim", "identity_dim")}
    model = {
        "format": "twinrender-model/1",
        "name": name,
        "image": {"width": 128, "height": 128},
        "latent": {"channels": LATENT_CHANNELS, "downscale": 8, "scale_factor": den["scale_factor"]},
        "denoiser": {"file": "denoiser.safetensors", "sha256": den_sha, **cfg},
        "decoder": {"file": "decoder.safetensors", "sha256": dec_sha, "width": DECODER_WIDTH},
        "conditioning": {"vocabularies": [{"name": n, "values": list(v)} for n, v in VOCABULARIES]},
        "schedule": SCHEDULE,
        "sampler_defaults": {"sampler": "ddim", "steps": 20, "guidance": 3.0},
        "twins": twins,
    }
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(model, f, indent=2)
        f.write("\n")
    print(f"exported {out} (denoiser step {den['step']}, decoder step {ae['step']})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "Models", "twin-mini-v1"))
    ap.add_argument("--name", default="twin-mini-v1")
    args = ap.parse_args()
    export(args.out, args.name)


if __name__ == "__main__":
    main()
