"""watermark-bench: twinrender's invisible watermark vs the issue #6 attacks, side by side with
the `invisible-watermark` package (dwtDctSvd, 64 bits; rivaGan, 32 bits, its only size).

    scripts/watermark-bench --renders DIR --count 100                # unmarked images (PNG), marked here
    scripts/watermark-bench --delivered SPOOL/out --key KEY --count 96  # daemon deliveries, as delivered
    scripts/watermark-bench --npz scripts/work/data/heldout.npz      # dataset images

`--delivered` reads images the daemon marked (scripts/watermark/make_deliveries makes a set) and
takes each one's payload from its XMP; the other modes mark the images with `--key` (made in the
work directory when not given).

Our side runs through the CLI (`twinrender watermark embed` / `detect --json`, release build by
default); attacks are Pillow/NumPy. Reports PSNR (marked vs unmarked), exact-payload recovery
per attack, embed/detect milliseconds, and false positives on unmarked images. invisible-watermark
refuses images under 256x256, so the side-by-side table runs all three methods on the same images
upscaled 2x (bicubic); our method is also measured at the native size. Needs, in scripts/.venv:
pillow, numpy, invisible-watermark (pip install invisible-watermark).
"""

import argparse
import io
import json
import os
import pathlib
import random
import subprocess
import sys
import time

import numpy as np
from PIL import Image, ImageEnhance, ImageOps, features

ROOT = pathlib.Path(__file__).resolve().parents[2]


def jpeg(image, quality):
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def crop(image, fraction=0.05):
    w, h = image.size
    dx, dy = round(w * fraction), round(h * fraction)
    return image.crop((dx, dy, w - dx, h - dy))


def noise(image, sigma, seed):
    rng = np.random.default_rng(seed)
    pixels = np.asarray(image, dtype=np.float64) + rng.normal(0, sigma, (image.height, image.width, 3))
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))


def png_jpeg_png(image):
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    step = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    buffer = io.BytesIO()
    step.save(buffer, "JPEG")  # Pillow's default quality, 75
    step = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    buffer = io.BytesIO()
    step.save(buffer, "PNG")
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def reencode(image, format, quality):
    buffer = io.BytesIO()
    image.save(buffer, format, quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def scaled(image, fx, fy, resample=Image.BICUBIC):
    return image.resize((max(1, round(image.width * fx)), max(1, round(image.height * fy))), resample)


def aspect_crop(image, aspect):
    """Centre crop to width/height = aspect."""
    w, h = image.size
    if w / h > aspect:
        nw = round(h * aspect)
        return image.crop(((w - nw) // 2, 0, (w - nw) // 2 + nw, h))
    nh = round(w / aspect)
    return image.crop((0, (h - nh) // 2, w, (h - nh) // 2 + nh))


def to_width(image, width):
    return image.resize((width, round(image.height * width / image.width)), Image.BICUBIC)


# name -> (function(image, seed) -> image, save as JPEG?)  JPEG attacks are fed to detectors as JPEG files.
ATTACKS = {
    "none": (lambda im, s: im, None),
    "JPEG 90": (lambda im, s: im, 90),
    "JPEG 75": (lambda im, s: im, 75),
    "JPEG 50": (lambda im, s: im, 50),
    "resize 50% and back": (lambda im, s: im.resize((im.width // 2, im.height // 2), Image.BICUBIC)
                            .resize(im.size, Image.BICUBIC), None),
    "crop 5%/side kept": (lambda im, s: crop(im), None),
    "crop 5%/side rescaled": (lambda im, s: crop(im).resize(im.size, Image.BICUBIC), None),
    "brightness x1.2": (lambda im, s: ImageEnhance.Brightness(im).enhance(1.2), None),
    "noise sigma 5": (lambda im, s: noise(im, 5, s), None),
    "rotate 2 deg": (lambda im, s: im.rotate(2, resample=Image.BICUBIC), None),
    "PNG->JPEG->PNG": (lambda im, s: png_jpeg_png(im), None),
    # Geometry (issue 15 part 5).
    "mirror left-right": (lambda im, s: ImageOps.mirror(im), None),
    "mirror top-bottom": (lambda im, s: ImageOps.flip(im), None),
    "turn 90 deg": (lambda im, s: im.transpose(Image.Transpose.ROTATE_270), None),
    "turn 180 deg": (lambda im, s: im.transpose(Image.Transpose.ROTATE_180), None),
    "turn 270 deg": (lambda im, s: im.transpose(Image.Transpose.ROTATE_90), None),
    "rotate 10 deg": (lambda im, s: im.rotate(10, resample=Image.BICUBIC), None),
    "rotate -15 deg": (lambda im, s: im.rotate(-15, resample=Image.BICUBIC), None),
    "thumbnail 0.25x + JPEG 75": (lambda im, s: scaled(im, 0.25, 0.25, Image.LANCZOS), 75),
    "thumbnail 0.5x + JPEG 75": (lambda im, s: scaled(im, 0.5, 0.5, Image.LANCZOS), 75),
    "scale 0.75x": (lambda im, s: scaled(im, 0.75, 0.75, Image.LANCZOS), None),
    "screenshot 1.37x + JPEG 85": (lambda im, s: scaled(im, 1.37, 1.37), 85),
    "upscale 2x (lossless)": (lambda im, s: scaled(im, 2, 2), None),
    "upscale 4x (lossless)": (lambda im, s: scaled(im, 4, 4), None),
    "upscale to 1080 + JPEG 80": (lambda im, s: to_width(im, 1080), 80),
    "crop 4:5": (lambda im, s: aspect_crop(im, 4 / 5), None),
    "crop 16:9": (lambda im, s: aspect_crop(im, 16 / 9), None),
    "stretch width 1.25x": (lambda im, s: scaled(im, 1.25, 1), None),
    "squeeze height 0.8x": (lambda im, s: scaled(im, 1, 0.8), None),
    # Compression.
    "JPEG 30": (lambda im, s: im, 30),
    "JPEG 20": (lambda im, s: im, 20),
    "WebP 50": (lambda im, s: reencode(im, "WEBP", 50), None),
    "AVIF 30": (lambda im, s: reencode(im, "AVIF", 30), None),
    # Everyday chain.
    "crop 10% + 0.8x + brightness 1.1 + JPEG 60": (
        lambda im, s: ImageEnhance.Brightness(scaled(crop(im, 0.10), 0.8, 0.8, Image.LANCZOS)).enhance(1.1), 60),
}
if not features.check("avif"):
    print("note: this Pillow has no AVIF codec; the AVIF attack is skipped", file=sys.stderr)
    del ATTACKS["AVIF 30"]


def attacked(image, name, seed):
    function, quality = ATTACKS[name]
    out = function(image, seed)
    return jpeg(out, quality) if quality else out


def box_mean(plane, radius):
    """Box mean with edge clamping, as the detector's BoxFilter."""
    padded = np.pad(plane, radius, mode="edge")
    sums = padded.cumsum(0).cumsum(1)
    sums = np.pad(sums, ((1, 0), (1, 0)))
    k = 2 * radius + 1
    return (sums[k:, k:] - sums[:-k, k:] - sums[k:, :-k] + sums[:-k, :-k]) / (k * k)


def luma(image):
    rgb = np.asarray(image, dtype=np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def texture_rms(originals, marked):
    """Mark RMS (luma, grey levels) by the original's local residual RMS (the detector's measure:
    residual after a 5x5 mean, its energy over 7x7): flat < 1, middle 1-8, busy >= 8."""
    bins = {"flat": [0.0, 0], "middle": [0.0, 0], "busy": [0.0, 0]}
    for a, b in zip(originals, marked):
        before, after = luma(a), luma(b)
        residual = before - box_mean(before, 2)
        level = np.sqrt(np.maximum(box_mean(residual ** 2, 3), 0))
        change = (after - before) ** 2
        for name, where in (("flat", level < 1), ("middle", (level >= 1) & (level < 8)), ("busy", level >= 8)):
            bins[name][0] += float(change[where].sum())
            bins[name][1] += int(where.sum())
    return {name: (total / count) ** 0.5 if count else float("nan") for name, (total, count) in bins.items()}


def psnr(a, b):
    mse = np.mean((np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def load_images(args):
    if args.delivered:
        files = sorted(pathlib.Path(args.delivered).glob("*.png"))
        return [Image.open(f).convert("RGB") for f in files][: args.count], [], files[: args.count]
    if args.renders:
        files = sorted(pathlib.Path(args.renders).glob("*.png"))
        images = [Image.open(f).convert("RGB") for f in files]
    else:
        data = np.load(args.npz)["images"]
        images = [Image.fromarray(x) for x in data[: args.count + args.unmarked]]
    if len(images) < args.count:
        sys.exit(f"need {args.count} images, found {len(images)}")
    return images[: args.count], images[args.count: args.count + args.unmarked], None


class Ours:
    name = "twinrender"

    def __init__(self, binary, work, key, masked=False, coarse=False, embed_flags=()):
        self.binary, self.work, self.key = binary, work, key
        self.embed_flags = (["--masked"] if masked else []) + (["--coarse"] if coarse else []) + list(embed_flags)

    def run(self, *arguments):
        # The watermark commands never call BLAS; one OpenBLAS thread keeps its idle pool from
        # competing for the CPU with the timed code.
        env = dict(os.environ)
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        return subprocess.run([self.binary, "watermark", *arguments], capture_output=True, text=True, env=env)

    def embed(self, images, payloads, tag):
        marked, stats = [], []
        for index, (image, payload) in enumerate(zip(images, payloads)):
            src, dst = self.work / f"{tag}-{index}-orig.png", self.work / f"{tag}-{index}-marked.png"
            image.save(src)
            result = self.run("embed", str(src), str(dst), "--payload", f"{payload:016x}", "--key", self.key, "--json",
                              *self.embed_flags)
            if result.returncode != 0:
                sys.exit(f"embed failed: {result.stderr}")
            stats.append(json.loads(result.stdout))
            marked.append(Image.open(dst).convert("RGB"))
        return marked, [s["embed_ms"] for s in stats]

    def detect(self, items, tag):
        """items: ("png", PIL image) or ("jpeg", bytes). Returns (payload or None, ms) per item."""
        paths = []
        for index, (kind, content) in enumerate(items):
            path = self.work / f"{tag}-{index}.{'jpg' if kind == 'jpeg' else 'png'}"
            if kind == "jpeg":
                path.write_bytes(content)
            else:
                content.save(path)
            paths.append(str(path))
        results = []
        for start in range(0, len(paths), 200):
            out = self.run("detect", "--json", "--key", self.key, *paths[start: start + 200]).stdout
            for line in out.splitlines():
                report = json.loads(line).get("report") or {}
                mark = report.get("watermark")
                results.append((int(mark["payloadHex"], 16) if mark else None, report.get("detectMilliseconds", 0)))
        if len(results) != len(items):
            sys.exit(f"detect returned {len(results)} results for {len(items)} images")
        return results


class InvisibleWatermark:
    def __init__(self, method, bits):
        from imwatermark import WatermarkDecoder, WatermarkEncoder
        self.method, self.bits = method, bits
        self.encoder_class, self.decoder_class = WatermarkEncoder, WatermarkDecoder
        if method == "rivaGan":
            WatermarkEncoder.loadModel()
            WatermarkDecoder.loadModel()
        self.name = f"invisible-watermark {method} ({bits} bit)"

    def embed(self, image, payload):
        encoder = self.encoder_class()
        encoder.set_watermark("bits", [(payload >> (self.bits - 1 - i)) & 1 for i in range(self.bits)])
        start = time.perf_counter()
        bgr = encoder.encode(np.asarray(image)[:, :, ::-1].copy(), self.method)
        return Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1])), (time.perf_counter() - start) * 1000

    def detect(self, image):
        decoder = self.decoder_class("bits", self.bits)
        start = time.perf_counter()
        try:
            bits = decoder.decode(np.asarray(image)[:, :, ::-1].copy(), self.method)
        except RuntimeError:  # "image too small" after a crop: not recovered
            return None, (time.perf_counter() - start) * 1000
        value = 0
        for bit in bits:
            value = value << 1 | int(bool(bit))
        return value, (time.perf_counter() - start) * 1000


def evaluate_ours(ours, images, payloads, tag, seed, delivered=False):
    if delivered:  # already marked by the daemon; no unmarked original to compare with
        marked, embed_ms = images, [float("nan")]
        row = {"psnr_min": float("nan"), "psnr_mean": float("nan")}
    else:
        marked, embed_ms = ours.embed(images, payloads, tag)
        row = {"psnr_min": min(psnr(a, b) for a, b in zip(images, marked)),
               "psnr_mean": float(np.mean([psnr(a, b) for a, b in zip(images, marked)])),
               "texture_rms": texture_rms(images, marked)}
    row.update({"embed_ms": float(np.mean(embed_ms)), "recovery": {}, "detect_ms": []})
    for name, (function, quality) in ATTACKS.items():
        batch = []
        for index, image in enumerate(marked):
            if quality:  # JPEG attacks reach our detector as JPEG files (libjpeg path)
                buffer = io.BytesIO()
                function(image, seed + index).save(buffer, "JPEG", quality=quality)
                batch.append(("jpeg", buffer.getvalue()))
            else:
                batch.append(("png", attacked(image, name, seed + index)))
        results = ours.detect(batch, f"{tag}-{name.replace(' ', '_').replace('/', '_')}")
        row["recovery"][name] = sum(r[0] == p for r, p in zip(results, payloads)) / len(payloads)
        row["detect_ms"] += [r[1] for r in results]
    row["detect_ms"] = float(np.mean(row["detect_ms"]))
    return row


def evaluate_baseline(method, images, payloads, seed):
    marked, embed_ms = zip(*(method.embed(image, payload) for image, payload in zip(images, payloads)))
    mask = (1 << method.bits) - 1
    row = {"psnr_min": min(psnr(a, b) for a, b in zip(images, marked)),
           "psnr_mean": float(np.mean([psnr(a, b) for a, b in zip(images, marked)])),
           "embed_ms": float(np.mean(embed_ms)), "recovery": {}, "detect_ms": []}
    for name in ATTACKS:
        hits = 0
        for index, (image, payload) in enumerate(zip(marked, payloads)):
            value, ms = method.detect(attacked(image, name, seed + index))
            hits += value == payload & mask
            row["detect_ms"].append(ms)
        row["recovery"][name] = hits / len(images)
    row["detect_ms"] = float(np.mean(row["detect_ms"]))
    return row


def table(rows):
    names = list(rows)
    lines = ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    def line(label, values):
        lines.append(f"| {label} | " + " | ".join(values) + " |")
    line("images", [str(rows[n]["images"]) for n in names])
    line("PSNR dB (mean / min)", [f"{rows[n]['psnr_mean']:.2f} / {rows[n]['psnr_min']:.2f}" for n in names])
    for attack in ATTACKS:
        line(f"recovered: {attack}", [f"{100 * rows[n]['recovery'][attack]:.0f} %" for n in names])
    line("mark RMS flat / middle / busy", [
        " / ".join(f"{rows[n]['texture_rms'][b]:.2f}" for b in ("flat", "middle", "busy")) if "texture_rms" in rows[n] else "-"
        for n in names])
    line("embed ms", [f"{rows[n]['embed_ms']:.1f}" for n in names])
    line("detect ms", [f"{rows[n]['detect_ms']:.1f}" for n in names])
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--renders", help="directory of PNG renders (e.g. a spool's out/)")
    source.add_argument("--npz", help="dataset .npz with an `images` array (N, H, W, 3)")
    source.add_argument("--delivered", help="directory of daemon deliveries (already marked; payloads from their XMP)")
    parser.add_argument("--key", help="watermark key file (default: WORK/bench.key, made once)")
    parser.add_argument("--count", type=int, default=100, help="marked images (default 100)")
    parser.add_argument("--unmarked", type=int, default=0,
                        help="extra unmarked images for the false-positive check (default 0; the "
                             "originals of the marked set are always checked too)")
    parser.add_argument("--twinrender", default=str(ROOT / ".build/release/twinrender"))
    parser.add_argument("--baseline-count", type=int, default=100, help="images for dwtDctSvd (default 100)")
    parser.add_argument("--riva-count", type=int, default=20, help="images for rivaGan (slow; default 20)")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--big", action="store_true",
                        help="with --no-baselines: still measure twinrender on the images upscaled 2x (256x256 for 128x128 renders)")
    parser.add_argument("--unmarked-attacks", action="store_true",
                        help="also count false positives on every attacked copy of every unmarked image (11x the detections)")
    parser.add_argument("--masked", action="store_true",
                        help="embed with --masked (the perceptual-mask experiment), for an A/B against the default")
    parser.add_argument("--coarse", action="store_true",
                        help="embed with --coarse (both layers), for an A/B against the default (fine layer only)")
    parser.add_argument("--embed-flag", action="append",
                        help="extra flag for `watermark embed` (repeatable, e.g. --embed-flag=--psnr=43)")
    parser.add_argument("--attacks", help="comma-separated subset of the attacks (default: all)")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--out", default=str(ROOT / "scripts/work/watermark-bench"))
    args = parser.parse_args()

    work = pathlib.Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    images, extra, delivered_files = load_images(args)
    key = args.key or str(work / "bench.key")
    if not os.path.exists(key):
        subprocess.run([args.twinrender, "watermark", "keygen", "--out", key], check=True, capture_output=True)
    ours = Ours(args.twinrender, work, key, masked=args.masked, coarse=args.coarse,
                embed_flags=args.embed_flag or [])
    if args.attacks:
        wanted = [name.strip() for name in args.attacks.split(",")]
        unknown = [name for name in wanted if name not in ATTACKS]
        if unknown:
            sys.exit(f"unknown attacks: {unknown}; known: {list(ATTACKS)}")
        for name in list(ATTACKS):
            if name not in wanted:
                del ATTACKS[name]
    if delivered_files:
        payloads = []
        for path in delivered_files:
            out = ours.run("detect", "--json", "--key", key, str(path)).stdout
            xmp = (json.loads(out).get("report") or {}).get("xmp") or {}
            if "twinrender:WatermarkPayload" not in xmp:
                sys.exit(f"{path}: no twinrender:WatermarkPayload in its XMP (not a delivery?)")
            payloads.append(int(xmp["twinrender:WatermarkPayload"], 16))
    else:
        payloads = [random.Random(args.seed * 100003 + i).getrandbits(64) for i in range(len(images))]
    native = f"{images[0].width}x{images[0].height}"
    rows = {}

    row = evaluate_ours(ours, images, payloads, "native", args.seed, delivered=bool(delivered_files))
    row["images"] = len(images)
    rows[f"twinrender @ {native}" + (" (deliveries)" if delivered_files else "")] = row
    # Deliveries carry a mark: they are no false-positive test (their attacked copies neither).
    unmarked = [("png", image) for image in ([] if delivered_files else images) + extra]
    false_positives = sum(r[0] is not None for r in ours.detect(unmarked, "unmarked"))
    print(f"false positives on unmarked images: {false_positives} / {len(unmarked)}", flush=True)
    attacked_checked = attacked_false_positives = 0
    if args.unmarked_attacks:
        for name, (function, quality) in ATTACKS.items():
            if name == "none":
                continue
            batch = []
            for index, (_, image) in enumerate(unmarked):
                if quality:
                    buffer = io.BytesIO()
                    function(image, args.seed + index).save(buffer, "JPEG", quality=quality)
                    batch.append(("jpeg", buffer.getvalue()))
                else:
                    batch.append(("png", attacked(image, name, args.seed + index)))
            hits = sum(r[0] is not None for r in ours.detect(batch, "unmarked-" + name.replace(" ", "_").replace("/", "_")))
            attacked_false_positives += hits
            attacked_checked += len(batch)
            print(f"false positives on unmarked images after {name}: {hits} / {len(batch)}", flush=True)

    if not args.no_baselines or args.big:
        upscaled = [im.resize((im.width * 2, im.height * 2), Image.BICUBIC) if im.width < 256 else im for im in images]
        big = f"{upscaled[0].width}x{upscaled[0].height}"
        n = min(len(upscaled), args.baseline_count)
        row = evaluate_ours(ours, upscaled[:n], payloads[:n], "big", args.seed)
        row["images"] = n
        rows[f"twinrender @ {big}"] = row

    if not args.no_baselines:
        for method, bits, count in [("dwtDctSvd", 64, args.baseline_count), ("rivaGan", 32, args.riva_count)]:
            if count <= 0:
                continue
            print(f"running {method} on {count} images...", flush=True)
            row = evaluate_baseline(InvisibleWatermark(method, bits), upscaled[:count], payloads[:count], args.seed)
            row["images"] = count
            rows[f"{method} @ {big}"] = row

    results = {"false_positives": false_positives, "unmarked_checked": len(unmarked),
               "attacked_unmarked_false_positives": attacked_false_positives,
               "attacked_unmarked_checked": attacked_checked, "rows": rows,
               "command": " ".join(sys.argv)}
    (work / "results.json").write_text(json.dumps(results, indent=2))
    print(table(rows))
    print(f"\nfalse positives (twinrender, {native}): {false_positives} / {len(unmarked)} unmarked images")
    if args.unmarked_attacks:
        print(f"false positives on their attacked copies: {attacked_false_positives} / {attacked_checked}")
    print(f"results: {work / 'results.json'}")


if __name__ == "__main__":
    main()
