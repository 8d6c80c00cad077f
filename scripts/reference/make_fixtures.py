#!/usr/bin/env python3
"""Writes the fixtures TwinInference's Swift tests compare against, and random-weight model packages.

Everything follows `twinnet.py` (the architecture's single source of truth); nothing here changes
its maths. Run from the repository root with the project venv:

    scripts/.venv/bin/python scripts/reference/make_fixtures.py
        -> Tests/TwinInferenceTests/Fixtures/ (tiny model package + expected values, ~1 MB)
    scripts/.venv/bin/python scripts/reference/make_fixtures.py --package scripts/work/mini --preset mini
        -> a random-weight package with twin-mini-v1's shapes, for benchmarks (not committed)

Tolerances the Swift tests apply (documented here and in the tests): per-op fixtures max|a-b| <=
1e-4 * max|b| (relative to the tensor's largest magnitude), the denoiser step and decoder pass the
same, full sampling runs 1e-4 on the final latent and +-1 on 8-bit pixels.
"""

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import twinnet  # noqa: E402

VOCABS = [
    ("garment", ["t-shirt", "dress", "coat"]),
    ("colour", ["red", "green", "blue"]),
    ("pattern", ["plain", "striped"]),
    ("pose", ["front", "side"]),
    ("background", ["studio", "street"]),
]

PRESETS = {
    # Tiny: committed test fixture. 64x64 image, 8x8 latent.
    "tiny": dict(image=64, channels=16, channel_mult=[1, 2, 2], num_res_blocks=1, norm_groups=4, heads=2,
                 emb_dim=32, ctx_dim=16, identity_dim=8, decoder_width=16),
    # twin-mini-v1's shapes (128x128 image, 16x16 latent), random weights, for benchmarks.
    "mini": dict(image=128, channels=64, channel_mult=[1, 2, 2], num_res_blocks=1, norm_groups=16, heads=4,
                 emb_dim=256, ctx_dim=128, identity_dim=64, decoder_width=32),
    # Same denoiser with a full-width (TAESD, width 64) decoder.
    "mini64": dict(image=128, channels=64, channel_mult=[1, 2, 2], num_res_blocks=1, norm_groups=16, heads=4,
                   emb_dim=256, ctx_dim=128, identity_dim=64, decoder_width=64),
}

SCHEDULE = {"train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "prediction": "epsilon"}
SCALE_FACTOR = 0.9


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def denoiser_cfg(p):
    return {"latent_channels": 4, "channels": p["channels"], "channel_mult": p["channel_mult"],
            "num_res_blocks": p["num_res_blocks"], "norm_groups": p["norm_groups"], "heads": p["heads"],
            "emb_dim": p["emb_dim"], "ctx_dim": p["ctx_dim"], "identity_dim": p["identity_dim"],
            "vocab_sizes": [len(v) for _, v in VOCABS]}


def randomise(module, gen):
    """Default init plus noise on every parameter, so norms, biases and null tokens are not trivial
    (multiplicative on matrices and kernels, additive on vectors)."""
    with torch.no_grad():
        for p in module.parameters():
            noise = torch.randn(p.shape, generator=gen)
            if p.dim() >= 2:
                p.mul_(1 + 0.1 * noise)
            else:
                p.add_(0.1 * noise)


def tame_decoder_output(dec):
    """Scale the last conv so random-weight images land mostly inside [0, 1] (pixel rounding tested)."""
    last = dec[-1]
    with torch.no_grad():
        last.weight.mul_(0.05)
        last.bias.add_(0.5)


def write_package(out, preset, seed, decoder_dtype):
    """Random-weight model package in the twinrender-model/1 format. Returns (denoiser, decoder, twins)."""
    p = PRESETS[preset]
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    cfg = denoiser_cfg(p)
    den = twinnet.Denoiser(cfg).eval()
    dec = twinnet.Decoder(4, p["decoder_width"]).eval()
    randomise(den, gen)
    randomise(dec, gen)
    tame_decoder_output(dec)
    os.makedirs(os.path.join(out, "twins"), exist_ok=True)
    save_file({k: v.contiguous() for k, v in den.state_dict().items()}, os.path.join(out, "denoiser.safetensors"))
    dec_sd = {k: v.to(decoder_dtype).contiguous() for k, v in dec.state_dict().items()}
    save_file(dec_sd, os.path.join(out, "decoder.safetensors"))
    # The reference runs on exactly the stored (possibly rounded) values.
    dec.load_state_dict({k: v.float() for k, v in dec_sd.items()})
    twins = {}
    for name in ["ava", "bea"]:
        identity = torch.randn(p["identity_dim"], generator=gen)
        twins[name] = identity
        save_file({"identity": identity}, os.path.join(out, "twins", f"{name}.safetensors"))
    model = {
        "format": "twinrender-model/1",
        "name": f"random-{preset}",
        "image": {"width": p["image"], "height": p["image"]},
        "latent": {"channels": 4, "downscale": 8, "scale_factor": SCALE_FACTOR},
        "denoiser": {"file": "denoiser.safetensors", "sha256": sha256(os.path.join(out, "denoiser.safetensors")),
                     "channels": p["channels"], "channel_mult": p["channel_mult"],
                     "num_res_blocks": p["num_res_blocks"], "norm_groups": p["norm_groups"], "heads": p["heads"],
                     "emb_dim": p["emb_dim"], "ctx_dim": p["ctx_dim"], "identity_dim": p["identity_dim"]},
        "decoder": {"file": "decoder.safetensors", "sha256": sha256(os.path.join(out, "decoder.safetensors")),
                    "width": p["decoder_width"]},
        "conditioning": {"vocabularies": [{"name": n, "values": v} for n, v in VOCABS]},
        "schedule": SCHEDULE,
        "sampler_defaults": {"sampler": "ddim", "steps": 20, "guidance": 3.0},
        "twins": [{"id": n, "file": f"twins/{n}.safetensors",
                   "sha256": sha256(os.path.join(out, "twins", f"{n}.safetensors"))} for n in twins],
    }
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(model, f, indent=2)
        f.write("\n")
    return den, dec, twins


def attr_indices(attrs):
    """Job attributes (name -> value) -> token indices; unset -> the null row n_i."""
    return torch.tensor([[v.index(attrs[n]) if n in attrs else len(v) for n, v in VOCABS]], dtype=torch.long)


def null_context(den):
    ident = den.null_identity[None, :]
    attrs = torch.tensor([[len(v) for _, v in VOCABS]], dtype=torch.long)
    return den.context(ident, attrs)


def op_fixtures(out):
    """Per-op expected values (random inputs and weights, fixed seed)."""
    g = torch.Generator().manual_seed(7)
    r = lambda *s: torch.randn(*s, generator=g)
    t = {}
    # conv 3x3 stride 1 pad 1 with bias, odd sizes.
    t["conv3.x"], t["conv3.w"], t["conv3.b"] = r(2, 5, 7, 9), r(6, 5, 3, 3), r(6)
    t["conv3.y"] = F.conv2d(t["conv3.x"], t["conv3.w"], t["conv3.b"], padding=1)
    # conv 3x3 stride 2 pad 1 (Downsample).
    t["conv3s2.x"], t["conv3s2.w"], t["conv3s2.b"] = r(1, 4, 9, 8), r(3, 4, 3, 3), r(3)
    t["conv3s2.y"] = F.conv2d(t["conv3s2.x"], t["conv3s2.w"], t["conv3s2.b"], stride=2, padding=1)
    # conv 1x1 without bias.
    t["conv1.x"], t["conv1.w"] = r(1, 6, 5, 5), r(3, 6, 1, 1)
    t["conv1.y"] = F.conv2d(t["conv1.x"], t["conv1.w"])
    # GroupNorm(4, 8) and GroupNorm + SiLU.
    t["gn.x"], t["gn.w"], t["gn.b"] = 3 * r(2, 8, 5, 6) + 1, r(8), r(8)
    t["gn.y"] = F.group_norm(t["gn.x"], 4, t["gn.w"], t["gn.b"], eps=1e-5)
    t["gn.ysilu"] = F.silu(t["gn.y"])
    # LayerNorm over the last dim.
    t["ln.x"], t["ln.w"], t["ln.b"] = 2 * r(2, 7, 12) - 1, r(12), r(12)
    t["ln.y"] = F.layer_norm(t["ln.x"], (12,), t["ln.w"], t["ln.b"], eps=1e-5)
    # GELU (erf form) over a wide range.
    t["gelu.x"] = torch.linspace(-8, 8, 257)
    t["gelu.y"] = F.gelu(t["gelu.x"])
    # Self- and cross-attention: dim 12, 3 heads, context dim 10.
    torch.manual_seed(11)
    sa, ca = twinnet.Attention(12, 12, 3), twinnet.Attention(12, 10, 3)
    t["attn.x"], t["attn.ctx"] = r(2, 5, 12), r(2, 3, 10)
    with torch.no_grad():
        t["attn.self.y"] = sa(t["attn.x"])
        t["attn.cross.y"] = ca(t["attn.x"], t["attn.ctx"])
    for k, v in sa.state_dict().items():
        t["attn.self." + k] = v
    for k, v in ca.state_dict().items():
        t["attn.cross." + k] = v
    # Sinusoidal timestep embedding, dim 16.
    t["temb.t"] = torch.tensor([0.0, 1.0, 999.0, 500.0])
    t["temb.y"] = twinnet.timestep_embedding(torch.tensor([0, 1, 999, 500]), 16)
    save_file({k: v.float().contiguous() for k, v in t.items()}, os.path.join(out, "ops.safetensors"))


def noise_fixtures(out):
    t = {
        "seed42.stream0": torch.from_numpy(twinnet.gaussian_noise(42, 0, 256)),
        "seed42.stream1": torch.from_numpy(twinnet.gaussian_noise(42, 1, 64)),
        "seedmax.stream3": torch.from_numpy(twinnet.gaussian_noise((1 << 64) - 1, 3, 64)),
    }
    save_file(t, os.path.join(out, "noise.safetensors"))


# Requests rendered by `render_fixtures`; the Swift test (RenderTests.swift) uses the same values.
RENDERS = [
    dict(name="render_ddim", twin="ava", attrs={"garment": "dress", "colour": "blue", "pose": "side"},
         seed=1234, image_index=0, steps=4, guidance=3.0, sampler="ddim"),
    dict(name="render_dpm", twin="bea", attrs={"garment": "coat", "pattern": "striped", "background": "street"},
         seed=99, image_index=2, steps=5, guidance=2.5, sampler="dpm"),
]


def render(den, dec, twins, req, latent_hw):
    ident = twins[req["twin"]][None, :]
    with torch.inference_mode():
        ctx_c = den.context(ident, attr_indices(req["attrs"]))
        ctx_u = null_context(den)
        x = torch.from_numpy(twinnet.gaussian_noise(req["seed"], req["image_index"], 4 * latent_hw * latent_hw))
        x = x.reshape(1, 4, latent_hw, latent_hw)
        sample = twinnet.ddim_sample if req["sampler"] == "ddim" else twinnet.dpmpp_2m_sample
        z = sample(den, SCHEDULE, x, ctx_c, ctx_u, req["steps"], req["guidance"])
        img = dec(z / SCALE_FACTOR)
    pixels = (img.clamp(0, 1) * 255).round().to(torch.uint8)[0].permute(1, 2, 0).contiguous()
    return {"latent": z.float(), "image": img.float(), "pixels": pixels.float()}  # F32 holding 0..255


def model_fixtures(out, den, dec, twins, latent_hw):
    g = torch.Generator().manual_seed(5)
    with torch.inference_mode():
        # One guided denoiser evaluation: batch of 2 (cond, null) at t = 749.
        ctx_c = den.context(twins["ava"][None, :], attr_indices({"garment": "t-shirt", "colour": "red"}))
        ctx_u = null_context(den)
        ctx = torch.cat([ctx_c, ctx_u])
        x = torch.randn(1, 4, latent_hw, latent_hw, generator=g)
        xx = torch.cat([x, x])
        eps = den(xx, torch.full((2,), 749, dtype=torch.long), ctx)
        save_file({"x": xx, "context": ctx, "eps": eps}, os.path.join(out, "denoiser_step.safetensors"))
        # Decoder alone on an (unscaled) latent.
        zin = 1.5 * torch.randn(1, 4, latent_hw, latent_hw, generator=g)
        save_file({"latent": zin, "image": dec(zin).float()}, os.path.join(out, "decoder_pass.safetensors"))
    for req in RENDERS:
        save_file(render(den, dec, twins, req, latent_hw), os.path.join(out, req["name"] + ".safetensors"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", help="write only a random-weight model package to this folder")
    ap.add_argument("--preset", default="mini", choices=sorted(PRESETS))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(2)
    if args.package:
        write_package(args.package, args.preset, args.seed, torch.float32)
        print("wrote", args.package)
        return
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    out = os.path.normpath(os.path.join(root, "Tests", "TwinInferenceTests", "Fixtures"))
    pkg = os.path.join(out, "tiny-model")
    # Decoder stored as F16 to exercise the F16 path; the reference uses the rounded values.
    den, dec, twins = write_package(pkg, "tiny", 1, torch.float16)
    latent_hw = PRESETS["tiny"]["image"] // 8
    op_fixtures(out)
    noise_fixtures(out)
    model_fixtures(out, den, dec, twins, latent_hw)
    print("wrote", out)


if __name__ == "__main__":
    main()
