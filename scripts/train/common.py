"""Shared paths, model configuration and checkpoint helpers of the training recipe."""

import os
import sys
import time

import numpy as np
import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts", "reference"))
sys.path.insert(0, os.path.join(ROOT, "scripts", "dataset"))

import twinnet  # noqa: E402,F401  (re-exported for the training scripts)
from attributes import TWIN_IDS, VOCABULARIES  # noqa: E402

WORK = os.environ.get("TWIN_WORK", os.path.join(ROOT, "scripts", "work"))  # override for smoke tests
DATA = os.path.join(WORK, "data")
CKPT = os.path.join(WORK, "ckpt")

DECODER_WIDTH = 16
#: 8 = the pool encoder's full latent; TWIN_LATENT_CHANNELS=4 reproduces the v1 stage of the recipe.
LATENT_CHANNELS = int(os.environ.get("TWIN_LATENT_CHANNELS", "8"))

DENOISER_CFG = {
    "latent_channels": LATENT_CHANNELS,
    "channels": 24,
    "channel_mult": [1, 2, 2],
    "num_res_blocks": 1,
    "norm_groups": 8,
    "heads": 4,
    "emb_dim": 96,
    "ctx_dim": 64,
    "identity_dim": 64,
    "vocab_sizes": [len(values) for _, values in VOCABULARIES],
}

SCHEDULE = {"train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "prediction": "epsilon"}


def setup(threads=2):
    torch.set_num_threads(threads)
    os.makedirs(CKPT, exist_ok=True)


def to_tensor(images_u8):
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float in [0, 1]."""
    return torch.from_numpy(images_u8).permute(0, 3, 1, 2).float().div_(255.0)


def save_atomic(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


class Budget:
    """Stops a loop after `minutes` of wall time (0 = no limit) or at `max_steps`."""

    def __init__(self, minutes, max_steps):
        self.deadline = time.time() + minutes * 60 if minutes > 0 else None
        self.max_steps = max_steps

    def done(self, step):
        return step >= self.max_steps or (self.deadline is not None and time.time() >= self.deadline)


def step_generator(seed, step):
    """Per-step RNG: a resumed run draws exactly the batches an uninterrupted one would."""
    return torch.Generator().manual_seed(int(np.uint64(seed) * np.uint64(1_000_003) + np.uint64(step)) % (2 ** 63))
