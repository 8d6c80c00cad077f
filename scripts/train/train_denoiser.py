"""Train twinnet's conditional Denoiser (epsilon prediction) on cached, scaled latents.

Conditioning: a learned identity table (one row per twin, exported one file per twin) and one
token per attribute vocabulary. Condition dropout for classifier-free guidance: each attribute
and the identity are replaced by their null token with probability `--p-drop`, the whole
condition with probability `--p-drop-all`. Loss: MSE on epsilon with min-SNR-5 weighting.
An EMA of the weights is kept and exported. Checkpoints to scripts/work/ckpt/denoiser.pt;
rerunning resumes from it and draws exactly the batches an uninterrupted run would.

    scripts/.venv/bin/python scripts/train/train_denoiser.py --minutes 40
"""

import argparse
import copy
import os
import time

import numpy as np
import torch
import torch.nn as nn

from common import CKPT, DENOISER_CFG, SCHEDULE, TWIN_IDS, Budget, save_atomic, setup, step_generator, twinnet

PATH = os.path.join(CKPT, "denoiser.pt")


class Conditioner(nn.Module):
    """The twin identity table; the attribute tables live in the Denoiser itself."""

    def __init__(self, n_twins, dim):
        super().__init__()
        self.identity = nn.Embedding(n_twins, dim)
        nn.init.normal_(self.identity.weight, std=1.0)


def make_context(model, cond, twins, attrs, drop):
    """Context tokens; `drop` (B, 1 + n_vocabs) bool marks tokens replaced by their null."""
    ident = cond.identity(twins)
    ident = torch.where(drop[:, :1], model.null_identity[None, :].expand_as(ident), ident)
    nulls = torch.tensor(DENOISER_CFG["vocab_sizes"])[None, :].expand_as(attrs)
    attrs = torch.where(drop[:, 1:], nulls, attrs)
    return model.context(ident, attrs)


def train(args):
    data = torch.load(os.path.join(CKPT, "latents.pt"))
    z = data["latents"] * data["scale_factor"]
    labels = data["labels"]
    twins_all, attrs_all = labels[:, 0], labels[:, 1:]
    torch.manual_seed(args.seed)
    model = twinnet.Denoiser(DENOISER_CFG)
    cond = Conditioner(len(TWIN_IDS), DENOISER_CFG["identity_dim"])
    ema_model, ema_cond = copy.deepcopy(model), copy.deepcopy(cond)
    params = list(model.parameters()) + list(cond.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    step, log, seconds = 0, [], 0.0
    if os.path.exists(PATH):
        ck = torch.load(PATH)
        model.load_state_dict(ck["model"]), cond.load_state_dict(ck["cond"])
        ema_model.load_state_dict(ck["ema_model"]), ema_cond.load_state_dict(ck["ema_cond"])
        opt.load_state_dict(ck["opt"])
        step, log, seconds = ck["step"], ck["log"], ck["seconds"]
        print(f"resumed at step {step}", flush=True)
    ac = torch.tensor(twinnet.alphas_cumprod(SCHEDULE), dtype=torch.float32)
    snr = ac / (1 - ac)
    weight = torch.clamp(snr, max=5.0) / snr  # min-SNR-5 for epsilon prediction
    n_tok = 1 + len(DENOISER_CFG["vocab_sizes"])
    budget = Budget(args.minutes, args.max_steps)
    t0, avg = time.time(), None
    while not budget.done(step):
        g = step_generator(args.seed, step)
        idx = torch.randint(0, z.shape[0], (args.batch,), generator=g)
        x0 = z[idx]
        t = torch.randint(0, SCHEDULE["train_timesteps"], (args.batch,), generator=g)
        eps = torch.randn(x0.shape, generator=g)
        drop = torch.rand(args.batch, n_tok, generator=g) < args.p_drop
        drop |= (torch.rand(args.batch, 1, generator=g) < args.p_drop_all)
        a = ac[t][:, None, None, None]
        xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
        lr = args.lr * min(1.0, (step + 1) / args.warmup)
        for group in opt.param_groups:
            group["lr"] = lr
        pred = model(xt, t, make_context(model, cond, twins_all[idx], attrs_all[idx], drop))
        per = (pred - eps).pow(2).mean(dim=(1, 2, 3))
        loss = (per * weight[t]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for src, dst in ((model, ema_model), (cond, ema_cond)):
                for p, q in zip(src.parameters(), dst.parameters()):
                    q.mul_(decay).add_(p, alpha=1 - decay)
        mse = per.mean().item()
        avg = mse if avg is None else 0.98 * avg + 0.02 * mse
        if step % 25 == 0:
            el = seconds + time.time() - t0
            log.append((step, avg, el))
            print(f"step {step} eps-mse {avg:.4f} lr {lr:.2e} elapsed {el / 60:.1f} min", flush=True)
        if step % args.ckpt_every == 0 or budget.done(step):
            save_atomic({"model": model.state_dict(), "cond": cond.state_dict(), "ema_model": ema_model.state_dict(),
                         "ema_cond": ema_cond.state_dict(), "opt": opt.state_dict(), "step": step, "log": log,
                         "seconds": seconds + time.time() - t0, "seed": args.seed, "cfg": DENOISER_CFG,
                         "scale_factor": data["scale_factor"], "args": vars(args)}, PATH)
    print(f"denoiser done at step {step}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=4321)
    ap.add_argument("--minutes", type=float, default=40.0, help="wall-time budget of this invocation (0 = none)")
    ap.add_argument("--max-steps", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--ema", type=float, default=0.995)
    ap.add_argument("--p-drop", type=float, default=0.12)
    ap.add_argument("--p-drop-all", type=float, default=0.12)
    ap.add_argument("--ckpt-every", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    setup(args.threads)
    train(args)


if __name__ == "__main__":
    main()
