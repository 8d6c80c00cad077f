"""Render images from an exported model package with twinnet's PyTorch DDIM sampler.

This is the reference renderer used to check the trained model before the Swift renderer
exists; it loads exactly the files the daemon loads (model.json, safetensors, hashes checked).
Conditions are spread evenly over twins x poses x garments; colour, pattern and background are
drawn from `--seed`. Initial noise is twinnet.gaussian_noise(seed, stream = image index).

    scripts/.venv/bin/python scripts/eval/sample_torch.py --count 512 --out scripts/work/gen
writes <out>/NNNN.png and <out>/manifest.jsonl (one JSON object per image, see evaluate.py).
"""

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
from common import ROOT, setup, twinnet  # noqa: E402


class Package:
    """A loaded "twinrender-model/1" package: denoiser, decoder, identities, vocabularies."""

    def __init__(self, root):
        with open(os.path.join(root, "model.json")) as f:
            self.meta = json.load(f)
        if self.meta.get("format") != "twinrender-model/1":
            raise ValueError(f"{root}: unsupported format {self.meta.get('format')!r}")
        self.vocabs = [(v["name"], v["values"]) for v in self.meta["conditioning"]["vocabularies"]]
        d = self.meta["denoiser"]
        cfg = {k: d[k] for k in ("channels", "channel_mult", "num_res_blocks", "norm_groups", "heads", "emb_dim",
                                 "ctx_dim", "identity_dim")}
        cfg["latent_channels"] = self.meta["latent"]["channels"]
        cfg["vocab_sizes"] = [len(v) for _, v in self.vocabs]
        self.denoiser = twinnet.Denoiser(cfg)
        self.denoiser.load_state_dict(self._load(root, d))
        self.decoder = twinnet.Decoder(cfg["latent_channels"], self.meta["decoder"]["width"])
        self.decoder.load_state_dict(self._load(root, self.meta["decoder"]))
        self.twins = {t["id"]: self._load(root, t)["identity"] for t in self.meta["twins"]}
        self.denoiser.eval(), self.decoder.eval()

    @staticmethod
    def _load(root, entry):
        path = os.path.join(root, entry["file"])
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        if digest != entry["sha256"]:
            raise ValueError(f"{path}: sha256 {digest} does not match model.json")
        return load_file(path)

    def context(self, twin_ids, attrs):
        """Conditional context for twin ids and attribute value names (dicts keyed by vocabulary)."""
        ident = torch.stack([self.twins[t] for t in twin_ids])
        idx = torch.tensor([[values.index(a[name]) for name, values in self.vocabs] for a in attrs])
        return self.denoiser.context(ident, idx)

    def null_context(self, n):
        ident = self.denoiser.null_identity[None, :].expand(n, -1)
        idx = torch.tensor([[len(values) for _, values in self.vocabs]] * n)
        return self.denoiser.context(ident, idx)

    @torch.no_grad()
    def render(self, twin_ids, attrs, seed, streams, steps, guidance, sampler="ddim"):
        """RGB uint8 (B, H, W, 3) for a batch of conditions."""
        lc, h = self.meta["latent"]["channels"], self.meta["image"]["height"] // self.meta["latent"]["downscale"]
        w = self.meta["image"]["width"] // self.meta["latent"]["downscale"]
        x = torch.stack([torch.from_numpy(twinnet.gaussian_noise(seed, s, lc * h * w)).view(lc, h, w) for s in streams])
        fn = twinnet.ddim_sample if sampler == "ddim" else twinnet.dpmpp_2m_sample
        z = fn(self.denoiser, self.meta["schedule"], x, self.context(twin_ids, attrs), self.null_context(len(streams)),
               steps, guidance)
        img = self.decoder(z / self.meta["latent"]["scale_factor"]).clamp(0, 1)
        return (img.permute(0, 2, 3, 1).numpy() * 255 + 0.5).astype(np.uint8)


def conditions(pkg, count, seed):
    """Job parameters for image i: twin, pose, garment cycle evenly; the rest drawn from the seed."""
    names = dict(pkg.vocabs)
    twins = [t["id"] for t in pkg.meta["twins"]]
    jobs = []
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        nt, npose, ng = len(twins), len(names["pose"]), len(names["garment"])
        job = {"twin": twins[i % nt], "pose": names["pose"][(i // nt) % npose],
               "garment": names["garment"][(i // (nt * npose)) % ng]}
        for key in ("colour", "pattern", "background"):
            job[key] = names[key][int(rng.integers(0, len(names[key])))]
        jobs.append(job)
    return jobs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "Models", "twin-mini-v1"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=512)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--sampler", choices=["ddim", "dpmpp-2m"], default="ddim")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    setup(args.threads)
    pkg = Package(args.model)
    os.makedirs(args.out, exist_ok=True)
    jobs = conditions(pkg, args.count, args.seed)
    t0 = time.time()
    with open(os.path.join(args.out, "manifest.jsonl"), "w") as manifest:
        for b in range(0, len(jobs), args.batch):
            batch = jobs[b:b + args.batch]
            streams = list(range(b, b + len(batch)))
            imgs = pkg.render([j["twin"] for j in batch], batch, args.seed, streams, args.steps, args.guidance,
                              args.sampler)
            for k, (job, img) in enumerate(zip(batch, imgs)):
                name = f"{b + k:04d}.png"
                Image.fromarray(img).save(os.path.join(args.out, name))
                manifest.write(json.dumps({"file": name, **job, "seed": args.seed, "stream": b + k,
                                           "steps": args.steps, "guidance": args.guidance,
                                           "sampler": args.sampler, "renderer": "pytorch-twinnet"}) + "\n")
            manifest.flush()
            print(f"{b + len(batch)}/{len(jobs)} images, {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
