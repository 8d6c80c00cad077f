"""Contact sheet: one row per twin, one column per (garment, pose, colour) job.

Assemble from any renderer's output (a directory of PNGs + manifest.jsonl as in evaluate.py):
    scripts/.venv/bin/python scripts/eval/contact_sheet.py --images DIR --manifest DIR/manifest.jsonl \
        --out docs/contact-sheet.png
Print the job grid (JSON Lines, one job per cell) for rendering with another renderer:
    scripts/.venv/bin/python scripts/eval/contact_sheet.py --jobs > jobs.jsonl
Render the grid with the PyTorch reference sampler and assemble it:
    scripts/.venv/bin/python scripts/eval/contact_sheet.py --render-torch scripts/work/sheet \
        --out docs/contact-sheet-pytorch.png
Render the grid with the Swift daemon (render_swift.py: `twinrender serve --once`, label off) and
assemble it:
    scripts/.venv/bin/python scripts/eval/contact_sheet.py --render-swift scripts/work/sheet-swift \
        --out docs/contact-sheet-twinrender.png
The daemon's noise stream is the image index within a job, so there each cell is a one-image job
with noise seed SEED * 1000 + cell (stream 0); the PyTorch sheet uses seed SEED, stream = cell.
"""

import argparse
import json
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import read_image, read_manifest  # noqa: E402
from common import ROOT, TWIN_IDS, VOCABULARIES, setup  # noqa: E402

COLUMNS = 6
SEED = 7


def grid_jobs():
    """Row r = twin r; column c: garment c, pose c mod 4, colour (c + 3r) mod 8, pattern c mod 3."""
    v = dict(VOCABULARIES)
    jobs = []
    for r, twin in enumerate(TWIN_IDS):
        for c in range(COLUMNS):
            jobs.append({"twin": twin, "garment": v["garment"][c % len(v["garment"])],
                         "colour": v["colour"][(c + 3 * r) % len(v["colour"])],
                         "pattern": v["pattern"][c % len(v["pattern"])], "pose": v["pose"][c % len(v["pose"])],
                         "background": v["background"][(r + c) % len(v["background"])], "seed": SEED,
                         "stream": r * COLUMNS + c})
    return jobs


def assemble(images_dir, rows, out):
    by_twin = {t: [] for t in TWIN_IDS}
    for row in rows:
        by_twin[row["twin"]].append(read_image(os.path.join(images_dir, row["file"])))
    width = max(len(v) for v in by_twin.values())
    blank = np.full((128, 128, 3), 255, dtype=np.uint8)
    lines = [np.concatenate(v + [blank] * (width - len(v)), axis=1) for v in by_twin.values() if v]
    Image.fromarray(np.concatenate(lines, axis=0)).save(out)
    print(f"wrote {out}: {len(lines)} rows x {width} columns")


def render_torch(work, model):
    from sample_torch import Package
    pkg = Package(model)
    os.makedirs(work, exist_ok=True)
    jobs = grid_jobs()
    with open(os.path.join(work, "manifest.jsonl"), "w") as f:
        for b in range(0, len(jobs), 16):
            batch = jobs[b:b + 16]
            imgs = pkg.render([j["twin"] for j in batch], batch, SEED, [j["stream"] for j in batch],
                              pkg.meta["sampler_defaults"]["steps"], pkg.meta["sampler_defaults"]["guidance"])
            for j, img in zip(batch, imgs):
                name = f"{j['stream']:03d}.png"
                Image.fromarray(img).save(os.path.join(work, name))
                f.write(json.dumps({"file": name, **j, "renderer": "pytorch-twinnet"}) + "\n")
    return read_manifest(os.path.join(work, "manifest.jsonl"))


def render_swift(work, model, binary):
    import subprocess
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for j in grid_jobs():
            f.write(json.dumps({**j, "seed": SEED * 1000 + j["stream"]}) + "\n")
        jobs = f.name
    cmd = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "render_swift.py"), "--out", work,
           "--jobs", jobs, "--prefix", "sheet", "--model", model]
    if binary:
        cmd += ["--bin", binary]
    subprocess.run(cmd, check=True)
    os.unlink(jobs)
    return read_manifest(os.path.join(work, "manifest.jsonl"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images")
    ap.add_argument("--manifest")
    ap.add_argument("--out")
    ap.add_argument("--jobs", action="store_true", help="print the grid's jobs as JSON Lines")
    ap.add_argument("--render-torch", metavar="WORKDIR")
    ap.add_argument("--render-swift", metavar="WORKDIR", help="render with twinrender (emptied first)")
    ap.add_argument("--bin", help="twinrender binary for --render-swift (default .build/release/twinrender)")
    ap.add_argument("--model", default=os.path.join(ROOT, "Models", "twin-mini-v1"))
    args = ap.parse_args()
    if args.jobs:
        for j in grid_jobs():
            print(json.dumps(j))
        return
    if not args.out:
        ap.error("--out is required")
    setup(2)
    if args.render_torch:
        assemble(args.render_torch, render_torch(args.render_torch, args.model), args.out)
    elif args.render_swift:
        assemble(args.render_swift, render_swift(args.render_swift, args.model, args.bin), args.out)
    elif args.images and args.manifest:
        assemble(args.images, read_manifest(args.manifest), args.out)
    else:
        ap.error("give --images and --manifest, --render-torch or --render-swift")


if __name__ == "__main__":
    main()
