"""Train twinnet's Encoder/Decoder on random crops of the procedural dataset, then cache latents.

The networks are fully convolutional, so training runs on 48x48 crops (6x6 latents, aligned to
the x8 grid) and the encoder is applied to whole 128x128 images afterwards. Loss: L1 + MSE on
pixels plus a small L2 penalty that keeps latents bounded. Checkpoints every `--ckpt-every`
steps to scripts/work/ckpt/autoencoder.pt; rerunning resumes from it.

Phase 2 (`--decoder-only`, run alongside denoiser training): the encoder is frozen (so the
cached latents stay valid) and the decoder alone keeps training; checkpoints go to
scripts/work/ckpt/decoder_finetune.pt, which export.py prefers when present.

    scripts/.venv/bin/python scripts/train/train_autoencoder.py --minutes 18 --max-steps 4000
    scripts/.venv/bin/python scripts/train/train_autoencoder.py --encode   # latents.pt + scale factor
    scripts/.venv/bin/python scripts/train/train_autoencoder.py --decoder-only --minutes 40 --threads 1
"""

import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from common import (CKPT, DATA, DECODER_WIDTH, ENCODER_WIDTH, LATENT_CHANNELS, Budget, save_atomic, setup,
                    step_generator, to_tensor, twinnet)

PATH = os.path.join(CKPT, "autoencoder.pt")
FINETUNE_PATH = os.path.join(CKPT, "decoder_finetune.pt")


def build(seed):
    torch.manual_seed(seed)
    enc = twinnet.Encoder(LATENT_CHANNELS, ENCODER_WIDTH)
    dec = twinnet.Decoder(LATENT_CHANNELS, DECODER_WIDTH)
    return enc, dec


def train(args):
    images = np.load(os.path.join(DATA, "train.npz"))["images"]
    enc, dec = build(args.seed)
    path = FINETUNE_PATH if args.decoder_only else PATH
    if args.decoder_only:
        ck = torch.load(PATH)
        enc.load_state_dict(ck["encoder"]), dec.load_state_dict(ck["decoder"])
        enc.requires_grad_(False)
        params = list(dec.parameters())
    else:
        params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.Adam(params, lr=args.lr)
    step, log, seconds = 0, [], 0.0
    if os.path.exists(path):
        ck = torch.load(path)
        if not args.decoder_only:
            enc.load_state_dict(ck["encoder"])
        dec.load_state_dict(ck["decoder"]), opt.load_state_dict(ck["opt"])
        step, log, seconds = ck["step"], ck["log"], ck["seconds"]
        print(f"resumed at step {step}", flush=True)
    budget = Budget(args.minutes, args.max_steps)
    crop, n = args.crop, images.shape[0]
    t0, ema = time.time(), None
    while not budget.done(step):
        g = step_generator(args.seed + int(args.decoder_only), step)
        idx = torch.randint(0, n, (args.batch,), generator=g).numpy()
        cells = (128 - crop) // 8 + 1
        oy, ox = (torch.randint(0, cells, (2,), generator=g) * 8).tolist()
        x = to_tensor(images[idx, oy:oy + crop, ox:ox + crop])
        with torch.set_grad_enabled(not args.decoder_only):
            z = enc(x)
        y = dec(z)
        rec = F.l1_loss(y, x) + F.mse_loss(y, x)
        loss = rec + 1e-4 * z.pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        ema = rec.item() if ema is None else 0.95 * ema + 0.05 * rec.item()
        if step % 25 == 0:
            el = seconds + time.time() - t0
            log.append((step, ema, el))
            print(f"step {step} rec {ema:.4f} elapsed {el / 60:.1f} min", flush=True)
        if step % args.ckpt_every == 0 or budget.done(step):
            save_atomic({"encoder": enc.state_dict(), "decoder": dec.state_dict(), "opt": opt.state_dict(),
                         "step": step, "log": log, "seconds": seconds + time.time() - t0, "seed": args.seed}, path)
    print(f"{'decoder fine-tune' if args.decoder_only else 'autoencoder'} done at step {step}", flush=True)


@torch.no_grad()
def encode(args):
    """Encode train images at full size; write latents, labels and the 1/std scale factor."""
    ck = torch.load(PATH)
    enc, dec = build(args.seed)
    enc.load_state_dict(ck["encoder"]), dec.load_state_dict(ck["decoder"])
    enc.eval(), dec.eval()
    data = np.load(os.path.join(DATA, "train.npz"))
    images, labels = data["images"][:args.encode_count], data["labels"][:args.encode_count]
    zs = [enc(to_tensor(images[i:i + 64])) for i in range(0, len(images), 64)]
    z = torch.cat(zs)
    scale = float(1.0 / z.std())
    held = np.load(os.path.join(DATA, "heldout.npz"))["images"][:256]
    xh = to_tensor(held)
    yh = torch.cat([dec(enc(xh[i:i + 64])).clamp(0, 1) for i in range(0, len(xh), 64)])
    mse = float(F.mse_loss(yh, xh))
    psnr = 10 * np.log10(1.0 / mse)
    save_atomic({"latents": z, "labels": torch.from_numpy(labels), "scale_factor": scale}, os.path.join(CKPT, "latents.pt"))
    stats = {"steps": ck["step"], "train_minutes": ck["seconds"] / 60, "final_rec_loss": ck["log"][-1][1] if ck["log"] else None,
             "heldout_psnr_db": psnr, "heldout_mse": mse, "latent_std": float(z.std()), "latent_mean": float(z.mean()),
             "scale_factor": scale, "encoded_images": int(len(images))}
    with open(os.path.join(CKPT, "autoencoder_stats.json"), "w") as f:
        json.dump(stats, f, indent=1)
    print(json.dumps(stats), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--minutes", type=float, default=18.0, help="wall-time budget of this invocation (0 = none)")
    ap.add_argument("--max-steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--crop", type=int, default=48)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--ckpt-every", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--encode", action="store_true", help="encode the dataset with the trained encoder")
    ap.add_argument("--decoder-only", action="store_true", help="phase 2: train the decoder, encoder frozen")
    ap.add_argument("--encode-count", type=int, default=8000)
    args = ap.parse_args()
    setup(args.threads)
    encode(args) if args.encode else train(args)


if __name__ == "__main__":
    main()
