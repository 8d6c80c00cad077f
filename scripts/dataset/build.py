"""Build the procedural fashion-figure dataset (deterministic from a seed).

Image i of split seed `seed` depends only on (seed, i): attributes are drawn uniformly, then
per-image jitter (position, scale, joint angles, skin and background brightness, pattern phase).

    scripts/.venv/bin/python scripts/dataset/build.py --seed 1 --count 8000 --out scripts/work/data/train.npz
    scripts/.venv/bin/python scripts/dataset/build.py --seed 2 --count 1000 --out scripts/work/data/heldout.npz
    scripts/.venv/bin/python scripts/dataset/build.py --preview docs/dataset-preview.png

The .npz holds `images` (N, 128, 128, 3) uint8 and `labels` (N, 6) int64 with columns
twin, garment, colour, pattern, pose, background (indices into attributes.py's lists).
"""

import argparse
import os
import sys
from multiprocessing import Pool

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attributes import BACKGROUNDS, COLOURS, GARMENTS, PATTERNS, POSES, TWINS  # noqa: E402
from figure import Spec, render  # noqa: E402

LABEL_COLUMNS = ["twin", "garment", "colour", "pattern", "pose", "background"]


def labels_for(seed, index):
    """Uniform attribute indices for image `index` of split `seed`."""
    rng = np.random.default_rng([seed, index, 0])
    sizes = [len(TWINS), len(GARMENTS), len(COLOURS), len(PATTERNS), len(POSES), len(BACKGROUNDS)]
    return [int(rng.integers(0, n)) for n in sizes]


def spec_from_labels(lab):
    t, g, c, p, o, b = lab
    return Spec(t, GARMENTS[g], COLOURS[c], PATTERNS[p], POSES[o], BACKGROUNDS[b])


def render_labels(seed, index, lab):
    """The image for labels `lab`, with jitter drawn from (seed, index)."""
    return render(spec_from_labels(lab), np.random.default_rng([seed, index, 1]))


def _one(args):
    seed, index = args
    lab = labels_for(seed, index)
    return render_labels(seed, index, lab), lab


def build(seed, count, workers):
    with Pool(workers) as pool:
        results = pool.map(_one, [(seed, i) for i in range(count)], chunksize=64)
    images = np.stack([r[0] for r in results])
    labels = np.array([r[1] for r in results], dtype=np.int64)
    return images, labels


def preview(path, seed=7):
    """One row per twin; columns walk through garments, colours, patterns and poses."""
    rows = []
    for t in range(len(TWINS)):
        row = []
        for k in range(8):
            lab = [t, k % len(GARMENTS), (k + t) % len(COLOURS), k % len(PATTERNS), k % len(POSES),
                   (t + k) % len(BACKGROUNDS)]
            row.append(render_labels(seed, t * 100 + k, lab))
        rows.append(np.concatenate(row, axis=1))
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=8000)
    ap.add_argument("--out", help="output .npz")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--preview", help="write a preview sheet PNG instead of a dataset")
    args = ap.parse_args()
    if args.preview:
        preview(args.preview)
        return
    if not args.out:
        ap.error("--out is required unless --preview is given")
    if args.count <= 0:
        ap.error("--count must be positive")
    images, labels = build(args.seed, args.count, args.workers)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    np.savez(args.out, images=images, labels=labels, seed=args.seed)
    print(f"wrote {args.out}: {images.shape[0]} images")


if __name__ == "__main__":
    main()
