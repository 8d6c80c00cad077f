"""Render a Swift manifest's images again with the PyTorch reference sampler, same noise.

For every row of a manifest written by render_swift.py (conditions, seed, stream, steps,
guidance, sampler) this renders the image with twinnet's PyTorch sampler from the same noise
(twinnet.gaussian_noise(seed, stream)), writes <out>/NNNN.png + <out>/manifest.jsonl (so
evaluate.py can score it) and reports how close the two renderers are per image: mean and
max absolute difference in 8-bit levels and PSNR. The Swift images carry the invisible
watermark (about 41 dB PSNR by itself, docs/watermark.md), so ~41 dB is the ceiling even for
identical renders. With --bin (the twinrender binary) it also marks each PyTorch render with the
payload of its Swift twin (read from the Swift PNG's XMP by `twinrender watermark detect`) via
`twinrender watermark embed` and compares that with the Swift image: this isolates the renderers.

    scripts/.venv/bin/python scripts/eval/compare_torch.py --swift scripts/work/swift --out scripts/work/swift-torch \
        --bin .build/release/twinrender
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from evaluate import read_image, read_manifest  # noqa: E402
from sample_torch import Package  # noqa: E402
from common import ROOT, setup, twinnet  # noqa: E402


@torch.no_grad()
def render_rows(pkg, rows):
    """Like Package.render, but every row has its own (seed, stream)."""
    meta = pkg.meta
    lc = meta["latent"]["channels"]
    h = meta["image"]["height"] // meta["latent"]["downscale"]
    w = meta["image"]["width"] // meta["latent"]["downscale"]
    x = torch.stack([torch.from_numpy(twinnet.gaussian_noise(r["seed"], r["stream"], lc * h * w)).view(lc, h, w)
                     for r in rows])
    steps, guidance, sampler = rows[0]["steps"], rows[0]["guidance"], rows[0]["sampler"]
    assert all((r["steps"], r["guidance"], r["sampler"]) == (steps, guidance, sampler) for r in rows)
    fn = twinnet.ddim_sample if sampler == "ddim" else twinnet.dpmpp_2m_sample
    z = fn(pkg.denoiser, meta["schedule"], x, pkg.context([r["twin"] for r in rows], rows),
           pkg.null_context(len(rows)), steps, guidance)
    img = pkg.decoder(z / meta["latent"]["scale_factor"]).clamp(0, 1)
    return (img.permute(0, 2, 3, 1).numpy() * 255 + 0.5).astype(np.uint8)


def payloads(binary, paths, key):
    """Watermark payload (hex) each Swift PNG declares in its XMP."""
    proc = subprocess.run([binary, "watermark", "detect", "--json", "--key", key, *paths], stdout=subprocess.PIPE, text=True)
    if proc.returncode not in (0, 1):  # 1: some image's mark was not detected; its XMP still names the payload
        raise SystemExit(f"twinrender watermark detect failed with {proc.returncode}")
    out = proc.stdout
    found = {}
    for line in out.splitlines():
        rec = json.loads(line)
        found[os.path.abspath(rec["file"])] = rec["report"]["xmp"]["twinrender:WatermarkPayload"]
    return [found[os.path.abspath(p)] for p in paths]


def marked(binary, img, payload, tmp, key):
    src, dst = os.path.join(tmp, "in.png"), os.path.join(tmp, "out.png")
    Image.fromarray(img).save(src)
    subprocess.run([binary, "watermark", "embed", src, dst, "--payload", payload, "--key", key], check=True,
                   stdout=subprocess.DEVNULL)
    return read_image(dst)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--swift", required=True, help="render_swift.py's --out directory")
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", default=os.path.join(ROOT, "Models", "twin-mini-v1"))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bin", help="twinrender binary: also compare after marking the PyTorch renders alike")
    args = ap.parse_args()
    key = os.path.join(args.swift, "keys", "watermark.key")  # the installation render_swift.py made
    setup(args.threads)
    pkg = Package(args.model)
    rows = read_manifest(os.path.join(args.swift, "manifest.jsonl"))
    os.makedirs(args.out, exist_ok=True)
    mad, mx, psnr = [], [], []
    m_diff, m_max, m_identical = [], [], 0
    tmp = tempfile.mkdtemp()
    t0 = time.time()
    with open(os.path.join(args.out, "manifest.jsonl"), "w") as manifest:
        for b in range(0, len(rows), args.batch):
            batch = rows[b:b + args.batch]
            swift_paths = [os.path.join(args.swift, r["file"]) for r in batch]
            marks = payloads(args.bin, swift_paths, key) if args.bin else [None] * len(batch)
            for k, (row, img) in enumerate(zip(batch, render_rows(pkg, batch))):
                name = f"{b + k:04d}.png"
                Image.fromarray(img).save(os.path.join(args.out, name))
                manifest.write(json.dumps({**row, "file": name, "renderer": "pytorch-twinnet",
                                           "swift_file": row["file"]}) + "\n")
                swift = read_image(swift_paths[k]).astype(np.float64)
                d = np.abs(img.astype(np.float64) - swift)
                mad.append(d.mean())
                mx.append(d.max())
                mse = (d ** 2).mean()
                psnr.append(99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse))
                if marks[k]:
                    dm = np.abs(marked(args.bin, img, marks[k], tmp, key).astype(np.float64) - swift)
                    m_diff.append((dm > 0).mean())
                    m_max.append(dm.max())
                    m_identical += int(dm.max() == 0)
            print(f"{b + len(batch)}/{len(rows)} images, {time.time() - t0:.0f}s", flush=True)
    report = {"images": len(rows), "mean_abs_diff": float(np.mean(mad)), "max_abs_diff": float(np.max(mx)),
              "max_abs_diff_median": float(np.median(mx)), "psnr_db_mean": float(np.mean(psnr)),
              "psnr_db_min": float(np.min(psnr)), "psnr_db_max": float(np.max(psnr))}
    if m_diff:
        report["after_same_watermark"] = {"identical_images": m_identical, "max_abs_diff": float(np.max(m_max)),
                                          "differing_values_fraction_mean": float(np.mean(m_diff))}
    text = json.dumps(report, indent=1)
    print(text)
    with open(os.path.join(args.out, "diff_report.json"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
