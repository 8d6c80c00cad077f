"""Train twinnet's Decoder against the fixed pool encoder, and cache the dataset's latents.

The decoder is fully convolutional and the pool encoder is exactly local, so training runs on
random 48x48 crops (6x6 latents, aligned to the x8 grid). Loss: L1 + MSE on pixels.
Checkpoints every `--ckpt-every` steps to scripts/work/ckpt/decoder.pt; rerunning resumes
from it and draws exactly the batches an uninterrupted run would.

    scripts/.venv/bin/python scripts/train/train_decoder.py --encode      # latents.pt + scale factor
    scripts/.venv/bin/python scripts/train/train_decoder.py --minutes 40  # train (resumable)
    scripts/.venv/bin/python scripts/train/train_decoder.py --psnr        # held-out reconstruction
"""

import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import pool_encoder
from common import (CKPT, DATA, DECODER_WIDTH, LATENT_CHANNELS, Budget, save_atomic, setup, step_generator,
                    to_tensor, twinnet)

PATH = os.path.join(CKPT, "decoder.pt")


@torch.no_grad()
def upsampler_init(dec):
    """Start the decoder as a nearest-neighbour upsampler of the latent's RGB channels.

    conv_in splits each colour into +/- halves (ReLU keeps both), every Block's residual branch
    starts at zero (Block(x) = relu(x) = x for x >= 0), the convs after each Upsample start as
    identity taps, and conv_out recombines (+c) - (-c) into [0, 1]. Training refines from there.
    """
    convs = [m for m in dec if isinstance(m, torch.nn.Conv2d)]
    conv_in, mids, conv_out = convs[0], convs[1:-1], convs[-1]
    for m in dec.modules():
        if isinstance(m, twinnet.Block):
            m.conv[4].weight.normal_(0, 1e-3), m.conv[4].bias.zero_()
    conv_in.weight.zero_(), conv_in.bias.zero_()
    conv_out.weight.zero_(), conv_out.bias.fill_(0.5)
    for c in range(3):
        conv_in.weight[2 * c, c, 1, 1], conv_in.weight[2 * c + 1, c, 1, 1] = 1.0, -1.0
        conv_out.weight[c, 2 * c, 1, 1], conv_out.weight[c, 2 * c + 1, 1, 1] = 0.5, -0.5
    for m in mids:
        m.weight.zero_()
        for k in range(m.weight.shape[0]):
            m.weight[k, k, 1, 1] = 1.0


def train(args):
    images = np.load(os.path.join(DATA, "train.npz"))["images"]
    torch.manual_seed(args.seed)
    dec = twinnet.Decoder(LATENT_CHANNELS, DECODER_WIDTH)
    upsampler_init(dec)
    opt = torch.optim.Adam(dec.parameters(), lr=args.lr)
    step, log, seconds = 0, [], 0.0
    if os.path.exists(PATH):
        ck = torch.load(PATH)
        dec.load_state_dict(ck["decoder"]), opt.load_state_dict(ck["opt"])
        for group in opt.param_groups:  # load_state_dict restored the saved lr; --lr wins
            group["lr"] = args.lr
        step, log, seconds = ck["step"], ck["log"], ck["seconds"]
        print(f"resumed at step {step}", flush=True)
    budget = Budget(args.minutes, args.max_steps)
    crop, n = args.crop, images.shape[0]
    cells = (128 - crop) // 8 + 1
    t0, avg = time.time(), None
    while not budget.done(step):
        g = step_generator(args.seed, step)
        idx = torch.randint(0, n, (args.batch,), generator=g).numpy()
        oy, ox = (torch.randint(0, cells, (2,), generator=g) * 8).tolist()
        x = to_tensor(images[idx, oy:oy + crop, ox:ox + crop])
        y = dec(pool_encoder.encode(x, LATENT_CHANNELS))
        loss = F.l1_loss(y, x) + F.mse_loss(y, x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        avg = loss.item() if avg is None else 0.95 * avg + 0.05 * loss.item()
        if step % 25 == 0:
            el = seconds + time.time() - t0
            log.append((step, avg, el))
            print(f"step {step} loss {avg:.4f} elapsed {el / 60:.1f} min", flush=True)
        if step % args.ckpt_every == 0 or budget.done(step):
            save_atomic({"decoder": dec.state_dict(), "opt": opt.state_dict(), "step": step, "log": log,
                         "seconds": seconds + time.time() - t0, "seed": args.seed}, PATH)
    print(f"decoder done at step {step}", flush=True)


@torch.no_grad()
def encode(args):
    """Encode all training images; write latents, labels and the scale factor (1/std unless given)."""
    data = np.load(os.path.join(DATA, "train.npz"))
    images = data["images"]
    z = torch.cat([pool_encoder.encode(to_tensor(images[i:i + 256]), LATENT_CHANNELS) for i in range(0, len(images), 256)])
    scale = args.scale_factor if args.scale_factor else float(1.0 / z.std())
    save_atomic({"latents": z, "labels": torch.from_numpy(data["labels"]), "scale_factor": scale},
                os.path.join(CKPT, "latents.pt"))
    print(json.dumps({"latents": list(z.shape), "latent_std": float(z.std()), "scale_factor": scale}), flush=True)


@torch.no_grad()
def psnr(args):
    """Reconstruction PSNR of the trained decoder on 256 held-out images; written to decoder_stats.json."""
    ck = torch.load(PATH)
    dec = twinnet.Decoder(LATENT_CHANNELS, DECODER_WIDTH)
    dec.load_state_dict(ck["decoder"])
    x = to_tensor(np.load(os.path.join(DATA, "heldout.npz"))["images"][:256])
    y = torch.cat([dec(pool_encoder.encode(x[i:i + 32], LATENT_CHANNELS)).clamp(0, 1) for i in range(0, len(x), 32)])
    mse = float(F.mse_loss(y, x))
    stats = {"steps": ck["step"], "train_minutes": ck["seconds"] / 60,
             "final_train_loss": ck["log"][-1][1] if ck["log"] else None,
             "heldout_mse": mse, "heldout_psnr_db": float(10 * np.log10(1.0 / mse))}
    with open(os.path.join(CKPT, "decoder_stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    print(json.dumps(stats), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--minutes", type=float, default=40.0, help="wall-time budget of this invocation (0 = none)")
    ap.add_argument("--max-steps", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=48)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--ckpt-every", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scale-factor", type=float, default=None,
                    help="with --encode: keep this scale factor (a warm-started denoiser's) instead of 1/std")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--encode", action="store_true", help="cache the training set's latents")
    mode.add_argument("--psnr", action="store_true", help="measure held-out reconstruction")
    args = ap.parse_args()
    setup(args.threads)
    if args.crop % 8 or not 8 <= args.crop <= 128:
        ap.error("--crop must be a multiple of 8 in 8...128")
    encode(args) if args.encode else psnr(args) if args.psnr else train(args)


if __name__ == "__main__":
    main()
