"""Attribute classifier for measuring generated images: twin, garment, colour and pose.

Trained on real (procedural) images only — never on generated ones. Input: 128x128 RGB,
average-pooled to 64x64. Augmentation of the real images (random Gaussian blur, pixel noise,
small shifts) so the classifier judges content rather than the renderer's sharpness.

    scripts/.venv/bin/python scripts/eval/classifier.py --epochs 2      # trains, reports held-out accuracy
The weights go to scripts/work/ckpt/classifier.pt, the held-out report to
scripts/work/ckpt/classifier_heldout.json.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
from common import CKPT, DATA, TWIN_IDS, VOCABULARIES, setup, step_generator, to_tensor  # noqa: E402

#: (name, label column in the dataset .npz, class count)
HEADS = [("twin", 0, len(TWIN_IDS)), ("garment", 1, len(VOCABULARIES[0][1])),
         ("colour", 2, len(VOCABULARIES[1][1])), ("pose", 4, len(VOCABULARIES[3][1]))]
PATH = os.path.join(CKPT, "classifier.pt")


class AttributeNet(nn.Module):
    """Four conv stages (64 -> 4 px) and one linear head per attribute."""

    def __init__(self):
        super().__init__()
        chans = [3, 16, 32, 48, 64]
        layers = []
        for a, b in zip(chans, chans[1:]):
            layers += [nn.Conv2d(a, b, 3, padding=1), nn.BatchNorm2d(b), nn.ReLU(), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers)
        self.heads = nn.ModuleList([nn.Linear(64 * 4 * 4, n) for _, _, n in HEADS])

    def forward(self, x):
        """x: (B, 3, 128, 128) in [0, 1] -> list of logits, one per head."""
        h = self.features(F.avg_pool2d(x, 2)).flatten(1)
        return [head(h) for head in self.heads]


def augment(x, g):
    b = x.shape[0]
    sigma = torch.rand(b, generator=g) * 1.5
    k = torch.arange(-3, 4, dtype=torch.float32)
    out = torch.empty_like(x)
    for i in range(b):
        if sigma[i] < 0.2:
            out[i] = x[i]
            continue
        w = torch.exp(-k ** 2 / (2 * sigma[i] ** 2))
        w = w / w.sum()
        y = F.conv2d(x[i:i + 1].transpose(0, 1), w.view(1, 1, 1, 7), padding=(0, 3))
        out[i] = F.conv2d(y, w.view(1, 1, 7, 1), padding=(3, 0)).transpose(0, 1)[0]
    shift = torch.randint(-4, 5, (2,), generator=g).tolist()
    out = torch.roll(out, shifts=shift, dims=(2, 3))
    return (out + 0.03 * torch.randn(out.shape, generator=g)).clamp(0, 1)


@torch.no_grad()
def predict(net, images_u8, batch=128):
    """(N, 128, 128, 3) uint8 -> (N, len(HEADS)) predicted class indices."""
    net.eval()
    preds = []
    for i in range(0, len(images_u8), batch):
        logits = net(to_tensor(images_u8[i:i + batch]))
        preds.append(torch.stack([lg.argmax(1) for lg in logits], dim=1))
    return torch.cat(preds).numpy()


def load():
    net = AttributeNet()
    net.load_state_dict(torch.load(PATH)["model"])
    net.eval()
    return net


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=99)
    ap.add_argument("--epochs", type=float, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    setup(args.threads)
    torch.manual_seed(args.seed)
    train = np.load(os.path.join(DATA, "train.npz"))
    images, labels = train["images"], torch.from_numpy(train["labels"])
    net = AttributeNet()
    steps = int(args.epochs * len(images) / args.batch)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    t0 = time.time()
    for step in range(steps):
        net.train()
        g = step_generator(args.seed, step)
        idx = torch.randint(0, len(images), (args.batch,), generator=g)
        x = augment(to_tensor(images[idx.numpy()]), g)
        logits = net(x)
        loss = sum(F.cross_entropy(lg, labels[idx, col]) for lg, (_, col, _) in zip(logits, HEADS))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % 50 == 0:
            print(f"step {step + 1}/{steps} loss {loss.item():.3f} {time.time() - t0:.0f}s", flush=True)
    torch.save({"model": net.state_dict(), "steps": steps, "seed": args.seed}, PATH)
    held = np.load(os.path.join(DATA, "heldout.npz"))
    pred = predict(net, held["images"])
    report = {name: float((pred[:, i] == held["labels"][:, col]).mean()) for i, (name, col, _) in enumerate(HEADS)}
    report["images"] = int(len(pred))
    report["train_seconds"] = time.time() - t0
    with open(os.path.join(CKPT, "classifier_heldout.json"), "w") as f:
        json.dump(report, f, indent=1)
    print("held-out real accuracy:", json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
