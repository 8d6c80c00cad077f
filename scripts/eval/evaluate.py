"""Per-attribute accuracy of the real-image classifier on a directory of generated images.

Input: a directory of PNGs and a manifest in JSON Lines, one object per image with at least
    {"file": "0000.png", "twin": "ava", "garment": "dress", "colour": "red", "pose": "walking"}
(extra keys are ignored; `file` is relative to the directory). Works for any renderer: the
PyTorch reference (sample_torch.py) or the Swift `twinrender`. Images must be 128x128; RGBA
and greyscale are converted to RGB.

    scripts/.venv/bin/python scripts/eval/evaluate.py --images scripts/work/gen \
        --manifest scripts/work/gen/manifest.jsonl --report scripts/work/gen/report.json
"""

import argparse
import json
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classifier import HEADS, load, predict  # noqa: E402
from common import TWIN_IDS, VOCABULARIES, setup  # noqa: E402

VALUES = {"twin": TWIN_IDS, **{name: list(values) for name, values in VOCABULARIES}}


def read_manifest(path):
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{n}: not JSON: {e}")
            for key in ["file"] + [h[0] for h in HEADS]:
                if key not in row:
                    raise SystemExit(f"{path}:{n}: missing key {key!r}")
                if key != "file" and row[key] not in VALUES[key]:
                    raise SystemExit(f"{path}:{n}: unknown {key} {row[key]!r}")
            rows.append(row)
    if not rows:
        raise SystemExit(f"{path}: empty manifest")
    return rows


def read_image(path):
    try:
        img = Image.open(path)
        img.load()
    except (OSError, ValueError) as e:
        raise SystemExit(f"{path}: cannot read image: {e}")
    if img.size != (128, 128):
        raise SystemExit(f"{path}: expected 128x128, got {img.size[0]}x{img.size[1]}")
    return np.asarray(img.convert("RGB"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--report", help="write the report JSON here too")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    setup(args.threads)
    rows = read_manifest(args.manifest)
    images = np.stack([read_image(os.path.join(args.images, r["file"])) for r in rows])
    pred = predict(load(), images)
    report = {"images": len(rows), "renderers": sorted({r.get("renderer", "unknown") for r in rows}), "accuracy": {},
              "confusions": {}}
    for i, (name, _, _) in enumerate(HEADS):
        truth = np.array([VALUES[name].index(r[name]) for r in rows])
        report["accuracy"][name] = float((pred[:, i] == truth).mean())
        wrong = {}
        for t, p in zip(truth, pred[:, i]):
            if t != p:
                key = f"{VALUES[name][t]}->{VALUES[name][p]}"
                wrong[key] = wrong.get(key, 0) + 1
        report["confusions"][name] = dict(sorted(wrong.items(), key=lambda kv: -kv[1])[:5])
    text = json.dumps(report, indent=1)
    print(text)
    if args.report:
        with open(args.report, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
