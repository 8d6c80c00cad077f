"""False positives of twinrender's watermark detector on unmarked images.

    scripts/.venv/bin/python scripts/watermark/false_positives.py --count 10000 [--renders DIR] [--key KEY]

Builds `--count` unmarked images and runs `twinrender watermark detect --json` on them (batches
of 200, release build): natural photographs (scikit-image's bundled samples) under random crops,
scalings (0.25-4x), turns, mirrors, rotations and JPEG; synthetic patterns chosen to provoke the
detector (checkerboards and stripes, some with a 64-pixel period like the tile; noise;
gradients; flat fields); and, with `--renders`, unmarked renders with the same edits. Any
payload found is a false positive. Prints the count per family and the bound the detector
states (hypotheses tried x 2^-24). Needs, in scripts/.venv: numpy, pillow, scikit-image.
"""

import argparse
import io
import json
import os
import pathlib
import random
import subprocess
import sys

import numpy as np
from PIL import Image, ImageOps

ROOT = pathlib.Path(__file__).resolve().parents[2]


def photos():
    from skimage import data
    names = ["astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "moon", "page", "text", "clock",
             "horse", "hubble_deep_field", "immunohistochemistry", "logo", "motorcycle_left", "retina", "cat", "brick",
             "grass", "gravel", "colorwheel", "microaneurysms", "shepp_logan_phantom"]
    images = []
    for name in names:
        try:
            array = getattr(data, name)()
        except Exception:  # a sample that needs a download: not available offline
            continue
        if isinstance(array, tuple):
            array = array[0]
        array = np.asarray(array)
        if array.dtype == bool:
            array = array.astype(np.uint8) * 255
        elif array.dtype != np.uint8:
            array = array.astype(np.float64)
            array = (255 * (array - array.min()) / max(1e-9, float(array.max() - array.min()))).astype(np.uint8)
        if array.ndim == 2:
            array = np.stack([array] * 3, axis=-1)
        images.append((name, Image.fromarray(array[:, :, :3])))
    return images


def synthetic(rng, index):
    size = rng.choice([96, 128, 192, 256, 384])
    kind = index % 6
    y, x = np.mgrid[0:size, 0:size]
    if kind == 0:  # checkerboard / stripes with a random or tile-like period
        period = rng.choice([2, 3, 4, 8, 16, 32, 64, 64, 128])
        v = ((x // max(1, period // 2) + (y // max(1, period // 2)) * rng.choice([0, 1])) % 2) * 255
    elif kind == 1:  # white or pink noise
        v = rng.normal(128, rng.choice([2, 10, 40]), (size, size))
    elif kind == 2:  # gradients
        v = (x * rng.uniform(0, 2) + y * rng.uniform(0, 2)) % 256
    elif kind == 3:  # a periodic random tile (period 64, like the mark's lattice)
        tile = rng.normal(128, rng.choice([3, 20]), (64, 64))
        v = np.tile(tile, (size // 64 + 1, size // 64 + 1))[:size, :size]
    elif kind == 4:  # flat field with slight noise
        v = np.full((size, size), rng.integers(0, 256)) + rng.normal(0, 0.5, (size, size))
    else:  # sinusoid gratings
        f = rng.uniform(0.02, 0.5)
        v = 128 + 100 * np.sin(2 * np.pi * f * (x * np.cos(index) + y * np.sin(index)))
    v = np.clip(np.rint(v), 0, 255).astype(np.uint8)
    return Image.fromarray(np.stack([v] * 3, axis=-1))


def edited(image, rng):
    """A random everyday edit: crop, scale, turn, mirror, small rotation, maybe JPEG."""
    w, h = image.size
    side = rng.integers(64, max(65, min(w, h)))
    left, top = rng.integers(0, w - side + 1), rng.integers(0, h - side + 1)
    out = image.crop((left, top, left + side, top + rng.integers(max(64, side * 3 // 4), side + 1)))
    scale = float(np.exp(rng.uniform(np.log(0.25), np.log(4))))
    size = (max(64, round(out.width * scale)), max(64, round(out.height * scale)))
    if size[0] * size[1] > 1100 * 1100:
        size = (min(size[0], 1024), min(size[1], 1024))
    out = out.resize(size, Image.BICUBIC)
    if rng.random() < 0.3:
        out = out.transpose(rng.choice([Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270]))
    if rng.random() < 0.3:
        out = ImageOps.mirror(out)
    if rng.random() < 0.3:
        out = out.rotate(float(rng.uniform(-15, 15)), resample=Image.BICUBIC)
    jpeg = rng.random() < 0.4
    return out, (int(rng.integers(20, 95)) if jpeg else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--renders", help="directory of unmarked renders (PNG) to include")
    parser.add_argument("--key", help="watermark key file (default: WORK/fp.key, made once)")
    parser.add_argument("--twinrender", default=str(ROOT / ".build/release/twinrender"))
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--out", default=str(ROOT / "scripts/work/false-positives"))
    args = parser.parse_args()
    work = pathlib.Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    key = args.key or str(work / "fp.key")
    if not os.path.exists(key):
        subprocess.run([args.twinrender, "watermark", "keygen", "--out", key], check=True, capture_output=True)
    rng = np.random.default_rng(args.seed)
    sources = {"photo": [im for _, im in photos()], "synthetic": None}
    if args.renders:
        sources["render"] = [Image.open(p).convert("RGB") for p in sorted(pathlib.Path(args.renders).glob("*.png"))]
    families = [f for f in sources if f != "synthetic" and sources[f]] + ["synthetic"]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    found = {f: 0 for f in families}
    checked = {f: 0 for f in families}
    hits = []
    batch = []

    def flush():
        paths = [p for p, _ in batch]
        out = subprocess.run([args.twinrender, "watermark", "detect", "--json", "--key", key, *paths],
                             capture_output=True, text=True, env=env).stdout.splitlines()
        if len(out) != len(batch):
            sys.exit(f"detect returned {len(out)} lines for {len(batch)} images")
        for line, (path, family) in zip(out, batch):
            checked[family] += 1
            report = json.loads(line).get("report") or {}
            if report.get("watermark"):
                found[family] += 1
                hits.append((path, report["watermark"]))
        for path, _ in batch:
            os.unlink(path)
        batch.clear()

    for index in range(args.count):
        family = families[index % len(families)]
        if family == "synthetic":
            image, quality = synthetic(rng, index), None
            if index % 2:
                image, quality = edited(image, rng)
        else:
            image, quality = edited(sources[family][int(rng.integers(len(sources[family])))], rng)
        path = work / f"u{index}.{'jpg' if quality else 'png'}"
        if quality:
            image.save(path, "JPEG", quality=quality)
        else:
            image.save(path)
        batch.append((str(path), family))
        if len(batch) == 200:
            flush()
            print(f"{index + 1} checked, {sum(found.values())} false positives", flush=True)
    if batch:
        flush()
    total = sum(checked.values())
    for family in families:
        print(f"{family}: {found[family]} / {checked[family]}")
    print(f"false positives: {sum(found.values())} / {total}")
    for path, mark in hits:
        print(f"  {path}: {mark}")
    (work / "results.json").write_text(json.dumps({"checked": checked, "found": found, "hits": hits,
                                                   "command": " ".join(sys.argv)}, indent=2))


if __name__ == "__main__":
    main()
