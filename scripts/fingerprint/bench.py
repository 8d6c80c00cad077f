"""Copy or transplant: how `twinrender verify` classifies edited copies of daemon deliveries and
different pictures that carry a delivery's watermark.

1. Renders --count images through the real daemon (scripts/eval/render_swift.py: a throw-away
   installation with spool, ledger and keys under WORK/install; label off), unless WORK/install
   already holds them.
2. Edited copies: every delivery goes through each edit below (Pillow); `verify --json` must say
   `resolved` with `picture.is_copy` true. A copy whose mark no longer reads is counted apart
   (that is the watermark's robustness, not the fingerprint's).
3. Transplants: a delivery X's mark put onto a different picture Y — other deliveries (same twin
   when there is one) and natural photographs (scikit-image's data samples, cropped and scaled to
   the render size) — by `twinrender watermark embed` with X's payload (what a holder of the
   installation's watermark key, or of a keyless build, can do) and by the copy attack (Kutter et
   al. 2000: Y plus X's high-pass residual). Whenever `verify` reads X's payload from the result it
   must say `transplanted_mark` (exit 5), never `resolved`.

Prints one table per group (counts by verdict, correlation quartiles) and a verdict line; writes
WORK/fingerprint-bench.json.

    scripts/.venv/bin/python scripts/fingerprint/bench.py --work scripts/work/fingerprint --count 48

Needs the release binary (`swift build -c release --product twinrender`), numpy, pillow and
scikit-image (scripts/.venv).
"""

import argparse
import concurrent.futures
import io
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

ROOT = pathlib.Path(__file__).resolve().parents[2]


def jpeg(image, quality):
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def scaled(image, factor_x, factor_y=None):
    factor_y = factor_x if factor_y is None else factor_y
    w, h = image.size
    return image.resize((max(1, round(w * factor_x)), max(1, round(h * factor_y))), Image.LANCZOS)


def crop_fraction(image, fx, fy, width, height):
    w, h = image.size
    left, top = round(fx * w), round(fy * h)
    return image.crop((left, top, left + round(width * w), top + round(height * h)))


EDITS = {
    "JPEG 75": lambda im: jpeg(im, 75),
    "JPEG 30": lambda im: jpeg(im, 30),
    "crop 4:5": lambda im: crop_fraction(im, 0.1, 0, 0.8, 1),
    "crop 16:9": lambda im: crop_fraction(im, 0, 0.22, 1, 0.5625),
    "crop centre 50%": lambda im: crop_fraction(im, 0.25, 0.25, 0.5, 0.5),
    "thumbnail 0.5x + JPEG 75": lambda im: jpeg(scaled(im, 0.5), 75),
    "thumbnail 0.25x + JPEG 75": lambda im: jpeg(scaled(im, 0.25), 75),
    "upscale to 1080 + JPEG 80": lambda im: jpeg(im.resize((1080, 1080), Image.LANCZOS), 80),
    "screenshot 1.37x + JPEG 85": lambda im: jpeg(scaled(im, 1.37), 85),
    "anisotropic 1.25 x 1": lambda im: scaled(im, 1.25, 1),
    "mirror": lambda im: im.transpose(Image.FLIP_LEFT_RIGHT),
    "turn 90": lambda im: im.transpose(Image.ROTATE_90),
    "rotate 10 deg": lambda im: im.rotate(10, resample=Image.BILINEAR, fillcolor=(128, 128, 128)),
    "brightness 1.2 + contrast 0.8": lambda im: ImageEnhance.Contrast(ImageEnhance.Brightness(im).enhance(1.2)).enhance(0.8),
    "greyscale": lambda im: im.convert("L").convert("RGB"),
    "blur radius 1": lambda im: im.filter(ImageFilter.GaussianBlur(1)),
    "crop 80% + resize back + JPEG 60": lambda im: jpeg(crop_fraction(im, 0.1, 0.1, 0.8, 0.8).resize(im.size, Image.LANCZOS), 60),
}


def natural_pictures(size, count):
    """Crops of scikit-image's sample photographs, scaled to `size` (unmarked, unrelated)."""
    from skimage import data
    names = ["astronaut", "coffee", "chelsea", "rocket", "camera", "cat", "hubble_deep_field", "immunohistochemistry",
             "motorcycle_left", "retina", "page", "text", "grass", "gravel", "brick", "colorwheel", "horse"]
    photos = []
    for name in names:
        try:
            array = getattr(data, name)()
        except Exception:
            continue
        if isinstance(array, tuple):
            array = array[0]
        array = np.asarray(array)
        if array.dtype != np.uint8:
            array = (255 * (array.astype(np.float64) / max(1e-9, float(array.max())))).astype(np.uint8)
        if array.ndim == 2:
            array = np.stack([array] * 3, axis=-1)
        photos.append(Image.fromarray(array[..., :3]).convert("RGB"))
    rng = np.random.default_rng(7)
    pictures = []
    while len(pictures) < count and photos:
        photo = photos[len(pictures) % len(photos)]
        w, h = photo.size
        side = int(min(w, h) * rng.uniform(0.4, 1.0))
        left, top = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        pictures.append(photo.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS))
    return pictures


def copy_attack(marked, target):
    """`target` plus the high-pass residual of `marked` (its mark, estimated by denoising)."""
    x = np.asarray(marked, dtype=np.float64)
    smooth = np.asarray(marked.filter(ImageFilter.GaussianBlur(1.2)), dtype=np.float64)
    y = np.asarray(target.resize(marked.size, Image.LANCZOS), dtype=np.float64)
    return Image.fromarray(np.clip(y + (x - smooth), 0, 255).round().astype(np.uint8))


def verify(binary, path, ledger, config):
    env = dict(os.environ, TWINRENDER_CONFIG=config)
    result = subprocess.run([binary, "verify", str(path), "--json", "--ledger", ledger], capture_output=True, text=True, env=env)
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        return {"outcome": "crash", "exit_code": result.returncode, "error": result.stderr[-300:]}


def embed(binary, source, out, payload, config, extra):
    env = dict(os.environ, TWINRENDER_CONFIG=config)
    result = subprocess.run([binary, "watermark", "embed", str(source), str(out), "--payload", payload] + extra,
                            capture_output=True, text=True, env=env)
    return result.returncode == 0


def quartiles(values):
    if not values:
        return "-"
    q = np.percentile(values, [0, 25, 50, 75, 100])
    return " / ".join(f"{v:.3f}" for v in q)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default=str(ROOT / "scripts/work/fingerprint"))
    parser.add_argument("--count", type=int, default=48)
    parser.add_argument("--twinrender", default=str(ROOT / ".build/release/twinrender"))
    parser.add_argument("--embed-args", default="", help="extra arguments for `watermark embed` (default: --key with the installation's key)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    work = pathlib.Path(args.work)
    install = work / "install"
    if not (install / "manifest.jsonl").is_file():
        subprocess.run([sys.executable, str(ROOT / "scripts/eval/render_swift.py"), "--out", str(install),
                        "--count", str(args.count), "--prefix", "fp", "--bin", args.twinrender], check=True)
    manifest = [json.loads(line) for line in (install / "manifest.jsonl").read_text().splitlines() if line.strip()]
    config, ledger = str(install / "twinrender.toml"), str(install / "ledger")
    files = work / "files"
    files.mkdir(parents=True, exist_ok=True)
    deliveries = [(entry, Image.open(install / entry["file"]).convert("RGB")) for entry in manifest]
    payloads = {}
    for entry, _ in deliveries:
        report = verify(args.twinrender, install / entry["file"], ledger, config)
        payloads[entry["file"]] = (report.get("watermark") or {}).get("payload")

    trials = []  # (group, kind, path, expected payload)
    for index, (entry, image) in enumerate(deliveries):
        stem = pathlib.Path(entry["file"]).stem
        for name, edit in EDITS.items():
            path = files / f"{stem}--edit-{name.replace(' ', '_').replace(':', '-').replace('%', 'pc')}.png"
            edit(image).save(path)
            trials.append(("copy", name, path, payloads[entry["file"]]))
    size = deliveries[0][1].size[0]
    photos = natural_pictures(size, len(deliveries))
    # The transplant is made with the installation's own key: the strongest forger (an insider).
    extra = args.embed_args.split() or ["--key", str(install / "keys/watermark.key")]
    for index, (entry, image) in enumerate(deliveries):
        stem = pathlib.Path(entry["file"]).stem
        payload = payloads[entry["file"]]
        if payload is None:
            continue
        same_twin = [e for e, _ in deliveries if e["twin"] == entry["twin"] and e["file"] != entry["file"]]
        other = next((i for i in same_twin), deliveries[(index + 1) % len(deliveries)][0])
        other_image = Image.open(install / other["file"]).convert("RGB")
        targets = [("other delivery (same twin)" if same_twin else "other delivery", other_image)]
        if index < len(photos):
            targets.append(("photograph", photos[index]))
        for kind, target in targets:
            source = files / f"{stem}--target-{kind.split()[0]}.png"
            target.save(source)
            embedded = files / f"{stem}--embed-{kind.split()[0]}.png"
            if embed(args.twinrender, source, embedded, payload, config, extra):
                trials.append(("transplant", f"embed onto {kind}", embedded, payload))
            copied = files / f"{stem}--copyattack-{kind.split()[0]}.png"
            copy_attack(image, target).save(copied)
            trials.append(("transplant", f"copy attack onto {kind}", copied, payload))

    with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
        reports = list(pool.map(lambda t: verify(args.twinrender, t[2], ledger, config), trials))

    rows = {}
    for (group, kind, path, payload), report in zip(trials, reports):
        mark = (report.get("watermark") or {}).get("payload")
        picture = report.get("picture") or {}
        if mark != payload:
            verdict = "mark not read as the delivery's"
        elif report["outcome"] == "resolved" and picture.get("is_copy"):
            verdict = "copy"
        elif report["outcome"] == "resolved":
            verdict = "undetermined (resolved, warning)"
        else:
            verdict = report["outcome"]
        row = rows.setdefault((group, kind), {"verdicts": {}, "correlations": []})
        row["verdicts"][verdict] = row["verdicts"].get(verdict, 0) + 1
        if mark == payload and "correlation" in picture:
            row["correlations"].append(picture["correlation"])

    failures = 0
    for group in ["copy", "transplant"]:
        print(f"\n{group}: verdicts when verify read the delivery's mark; correlation min / q1 / median / q3 / max")
        for (g, kind), row in rows.items():
            if g != group:
                continue
            wrong = row["verdicts"].get("transplanted_mark", 0) if group == "copy" else row["verdicts"].get("copy", 0)
            failures += wrong
            verdicts = ", ".join(f"{k} {v}" for k, v in sorted(row["verdicts"].items()))
            print(f"  {kind:40s} {verdicts:70s} r {quartiles(row['correlations'])}")
    copies = sum(r["verdicts"].get("copy", 0) for (g, _), r in rows.items() if g == "copy")
    flagged = sum(r["verdicts"].get("transplanted_mark", 0) for (g, _), r in rows.items() if g == "transplant")
    read = sum(sum(v for k, v in r["verdicts"].items() if not k.startswith("mark not")) for (g, _), r in rows.items() if g == "transplant")
    print(f"\nverdict: {copies} edited copies recognised, {flagged} of {read} transplants whose mark read flagged, "
          f"{failures} misclassified ({len(deliveries)} deliveries, {len(trials)} files)")
    (work / "fingerprint-bench.json").write_text(json.dumps(
        {f"{g}: {k}": r for (g, k), r in rows.items()}, indent=1, sort_keys=True))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
