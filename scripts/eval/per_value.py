"""Per-value accuracy of the real-image classifier (which twins, garments, colours, poses fail).

Same input as evaluate.py (a directory of PNGs + manifest.jsonl). With --other-images and
--other-manifest (same rows in the same order, another renderer, e.g. compare_torch.py's output)
it also reports how often the classifier gives both renderers' images the same prediction.

    scripts/.venv/bin/python scripts/eval/per_value.py --images scripts/work/swift \
        --manifest scripts/work/swift/manifest.jsonl \
        --other-images scripts/work/swift-torch --other-manifest scripts/work/swift-torch/manifest.jsonl
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import VALUES, read_image, read_manifest  # noqa: E402
from classifier import HEADS, load, predict  # noqa: E402
from common import setup  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--other-images")
    ap.add_argument("--other-manifest")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    setup(args.threads)
    net = load()
    rows = read_manifest(args.manifest)
    pred = predict(net, np.stack([read_image(os.path.join(args.images, r["file"])) for r in rows]))
    truth = np.stack([[VALUES[n].index(r[n]) for n, _, _ in HEADS] for r in rows])
    report = {"images": len(rows), "all_four_correct": float((pred == truth).all(1).mean()), "per_value": {}}
    for i, (name, _, _) in enumerate(HEADS):
        report["per_value"][name] = {v: round(float((pred[truth[:, i] == k, i] == k).mean()), 3)
                                     for k, v in enumerate(VALUES[name]) if (truth[:, i] == k).any()}
    if args.other_images and args.other_manifest:
        other = read_manifest(args.other_manifest)
        if [[r[n] for n, _, _ in HEADS] for r in other] != [[r[n] for n, _, _ in HEADS] for r in rows]:
            raise SystemExit("the two manifests do not list the same conditions in the same order")
        pred2 = predict(net, np.stack([read_image(os.path.join(args.other_images, r["file"])) for r in other]))
        report["same_prediction_as_other"] = {name: float((pred[:, i] == pred2[:, i]).mean())
                                              for i, (name, _, _) in enumerate(HEADS)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
