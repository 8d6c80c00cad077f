#!/usr/bin/env python3
"""Times the same render in PyTorch eager, ONNX Runtime and twinrender, checks they agree, and
prints twinrender's per-image time as a ratio to each. Called by `scripts/bench-compare`.

Workload (same in all three, and in TwinInference's InferenceBenchmark): the package's first
twin, the first value of every vocabulary, seed 1, guidance 3, DDIM with `--steps`, images
0..batch-1 (noise streams), `--size`; conditional and null contexts batched (2 x batch).
 - PyTorch: eager, torch.inference_mode, channels_last weights and inputs, torch threads = --threads.
 - ONNX Runtime: denoiser and decoder exported with the TorchScript exporter (opset 17, static
   shapes), ORT_ENABLE_ALL, intra-op threads = --threads, sequential execution; the sampler loop
   runs in numpy around the denoiser session (its cost is negligible).
 - twinrender: `twinrender bench --json --save-rgb` (release build, `swift build -c release
   --product twinrender` first if missing), which calls TwinInference's InferenceBenchmark.
Each framework runs in its own process (so peak RSS is its own), warm-up + median of --repeats.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
WORK = os.path.join(ROOT, "scripts", "work", "bench")
sys.path.insert(0, HERE)


def load_package(model_dir):
    """twinnet modules with the package's weights, plus what the workload needs."""
    import torch
    from safetensors.torch import load_file
    import twinnet
    m = json.load(open(os.path.join(model_dir, "model.json")))
    d = m["denoiser"]
    vocabs = m["conditioning"]["vocabularies"]
    cfg = {"latent_channels": m["latent"]["channels"], "channels": d["channels"], "channel_mult": d["channel_mult"],
           "num_res_blocks": d["num_res_blocks"], "norm_groups": d["norm_groups"], "heads": d["heads"],
           "emb_dim": d["emb_dim"], "ctx_dim": d["ctx_dim"], "identity_dim": d["identity_dim"],
           "vocab_sizes": [len(v["values"]) for v in vocabs]}
    den = twinnet.Denoiser(cfg).eval()
    den.load_state_dict({k: v.float() for k, v in load_file(os.path.join(model_dir, d["file"])).items()})
    dec = twinnet.Decoder(m["latent"]["channels"], m["decoder"]["width"]).eval()
    dec.load_state_dict({k: v.float() for k, v in load_file(os.path.join(model_dir, m["decoder"]["file"])).items()})
    twin = m["twins"][0]
    identity = load_file(os.path.join(model_dir, twin["file"]))["identity"].float()
    with torch.inference_mode():
        ctx_c = den.context(identity[None, :], torch.zeros(1, len(vocabs), dtype=torch.long))
        ctx_u = den.context(den.null_identity[None, :], torch.tensor([cfg["vocab_sizes"]], dtype=torch.long))
    return m, den, dec, ctx_c, ctx_u


def initial_noise(batch, c, h, w):
    import twinnet
    return np.stack([twinnet.gaussian_noise(1, i, c * h * w).reshape(c, h, w) for i in range(batch)])


def to_pixels(img):
    """(B, 3, H, W) float -> (B, H, W, 3) uint8, clamp + round like the renderer."""
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8).transpose(0, 2, 3, 1)


def median_time(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times)), out


def worker_torch(a):
    import torch
    import twinnet
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    m, den, dec, ctx_c, ctx_u = load_package(a.model)
    den = den.to(memory_format=torch.channels_last)
    dec = dec.to(memory_format=torch.channels_last)
    sched = m["schedule"]
    sf = m["latent"]["scale_factor"]
    h, w = a.size // 8, a.size // 8
    x0 = torch.from_numpy(initial_noise(a.batch, m["latent"]["channels"], h, w)).contiguous(memory_format=torch.channels_last)
    cc, cu = ctx_c.expand(a.batch, -1, -1).contiguous(), ctx_u.expand(a.batch, -1, -1).contiguous()

    def sample():
        with torch.inference_mode():
            return twinnet.ddim_sample(den, sched, x0, cc, cu, a.steps, 3.0)

    def decode(z):
        with torch.inference_mode():
            return dec((z / sf).contiguous(memory_format=torch.channels_last))

    sampler_ms, z = median_time(sample, a.repeats)
    decoder_ms, img = median_time(lambda: decode(z), a.repeats)
    return {"sampler_ms": sampler_ms, "decoder_ms": decoder_ms, "pixels": to_pixels(img.float().numpy())}


def export_onnx(a, m, den, dec, ctx_c, path_den, path_dec):
    import torch
    h, w = a.size // 8, a.size // 8
    c = m["latent"]["channels"]
    x = torch.zeros(2 * a.batch, c, h, w)
    t = torch.full((2 * a.batch,), 999, dtype=torch.long)
    ctx = torch.zeros(2 * a.batch, ctx_c.shape[1], ctx_c.shape[2])
    torch.onnx.export(den, (x, t, ctx), path_den, input_names=["x", "t", "context"], output_names=["eps"],
                      opset_version=17, dynamo=False)
    torch.onnx.export(dec, (torch.zeros(a.batch, c, h, w),), path_dec, input_names=["latent"], output_names=["rgb"],
                      opset_version=17, dynamo=False)


def worker_ort(a):
    import onnxruntime as ort
    import torch
    import twinnet
    m, den, dec, ctx_c, ctx_u = load_package(a.model)
    os.makedirs(WORK, exist_ok=True)
    tag = f"{os.path.basename(os.path.normpath(a.model))}-{a.size}-b{a.batch}"
    path_den, path_dec = os.path.join(WORK, f"den-{tag}.onnx"), os.path.join(WORK, f"dec-{tag}.onnx")
    export_onnx(a, m, den, dec, ctx_c, path_den, path_dec)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    s_den = ort.InferenceSession(path_den, so, providers=["CPUExecutionProvider"])
    s_dec = ort.InferenceSession(path_dec, so, providers=["CPUExecutionProvider"])
    sched = m["schedule"]
    sf = np.float32(m["latent"]["scale_factor"])
    h, w = a.size // 8, a.size // 8
    x0 = initial_noise(a.batch, m["latent"]["channels"], h, w).astype(np.float32)
    ctx = np.concatenate([ctx_c.expand(a.batch, -1, -1).numpy(), ctx_u.expand(a.batch, -1, -1).numpy()]).astype(np.float32)
    ac = twinnet.alphas_cumprod(sched)
    ts = twinnet.timesteps(sched, a.steps)
    b = a.batch

    def sample():
        x = x0.copy()
        for i, t in enumerate(ts):
            eps = s_den.run(None, {"x": np.concatenate([x, x]), "t": np.full((2 * b,), t, dtype=np.int64), "context": ctx})[0]
            e = eps[b:] + np.float32(3.0) * (eps[:b] - eps[b:])
            at = ac[t]
            ap = ac[ts[i + 1]] if i + 1 < len(ts) else 1.0
            cx = np.float32(np.sqrt(ap) / np.sqrt(at))
            ce = np.float32(np.sqrt(1 - ap) - np.sqrt(ap) * np.sqrt(1 - at) / np.sqrt(at))
            x = cx * x + ce * e
        return x

    sampler_ms, z = median_time(sample, a.repeats)
    zin = (z / sf).astype(np.float32)
    decoder_ms, img = median_time(lambda: s_dec.run(None, {"latent": zin})[0], a.repeats)
    return {"sampler_ms": sampler_ms, "decoder_ms": decoder_ms, "pixels": to_pixels(img)}


def run_worker(kind, a):
    """Runs one framework in a subprocess; returns its timings, RSS and pixels."""
    os.makedirs(WORK, exist_ok=True)
    out = os.path.join(WORK, f"{kind}.npy")
    cmd = [sys.executable, __file__, "--worker", kind, "--model", a.model, "--steps", str(a.steps), "--size", str(a.size),
           "--batch", str(a.batch), "--threads", str(a.threads), "--repeats", str(a.repeats), "--pixels-out", out]
    r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    r["pixels"] = np.load(out)
    return r


def twinrender_bench(a):
    """`twinrender bench --json --save-rgb PATH` (the release build; built first when missing)."""
    exe = a.twinrender
    if exe is None:  # (re)build, so the numbers are the working tree's
        subprocess.run(["swift", "build", "-c", "release", "--product", "twinrender"], cwd=ROOT, check=True,
                       stdout=sys.stderr)
        exe = os.path.join(ROOT, ".build", "release", "twinrender")
    out = os.path.join(WORK, "twinrender.rgb")
    cmd = [exe, "bench", "--model", a.model, "--steps", str(a.steps), "--size", f"{a.size}x{a.size}",
           "--batch", str(a.batch), "--threads", str(a.threads), "--repeats", str(a.repeats),
           "--sampler", "ddim", "--save-rgb", out, "--json"]
    full = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    r = dict(full["inference"])
    r["full"] = full
    r["peakRssBytes"] = full["peakRssBytes"]
    r["source"] = "twinrender bench"
    r["pixels"] = read_rgb(out, a)
    return r


def read_rgb(path, a):
    data = np.fromfile(path, dtype=np.uint8)
    return data.reshape(a.batch, a.size, a.size, 3)


def agreement(p, q):
    if p is None or q is None:
        return "not checked (no pixels)"
    d = np.abs(p.astype(np.int16) - q.astype(np.int16))
    return f"max |diff| {int(d.max())}, mean {d.mean():.3f} (8-bit)"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="model package (default Models/twin-mini-v1, else a random one)")
    ap.add_argument("--preset", default=None, help="instead of --model: a random-weight package from make_fixtures.py "
                    "(mini: twin-mini-v1 shapes with 64 channels; mini64: the same with a TAESD width-64 decoder), "
                    "written once to scripts/work/<preset>")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--size", type=int, default=None, help="square image side (default: the model's)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--twinrender", default=None,
                    help="twinrender binary (default: build the release product and use .build/release/twinrender)")
    ap.add_argument("--worker", choices=["torch", "ort"], help=argparse.SUPPRESS)
    ap.add_argument("--pixels-out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.preset and a.model is None:
        a.model = os.path.join(ROOT, "scripts", "work", a.preset)
        if not os.path.exists(os.path.join(a.model, "model.json")):
            subprocess.run([sys.executable, os.path.join(HERE, "make_fixtures.py"), "--package", a.model, "--preset", a.preset],
                           check=True, stdout=sys.stderr)
    if a.model is None:
        a.model = os.path.join(ROOT, "Models", "twin-mini-v1")
        if not os.path.exists(os.path.join(a.model, "model.json")):
            a.model = os.path.join(ROOT, "scripts", "work", "mini")
            if not os.path.exists(os.path.join(a.model, "model.json")):
                subprocess.run([sys.executable, os.path.join(HERE, "make_fixtures.py"), "--package", a.model, "--preset", "mini"], check=True)
    a.model = os.path.abspath(a.model)
    if a.size is None:
        a.size = json.load(open(os.path.join(a.model, "model.json")))["image"]["width"]
    if a.worker:
        r = worker_torch(a) if a.worker == "torch" else worker_ort(a)
        np.save(a.pixels_out, r.pop("pixels"))
        r["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(json.dumps(r))
        return

    print(f"model {a.model}, {a.size}x{a.size}, batch {a.batch}, DDIM {a.steps} steps, {a.threads} threads, "
          f"median of {a.repeats}; load average {os.getloadavg()[0]:.2f}", flush=True)
    pt = run_worker("torch", a)
    ox = run_worker("ort", a)
    tr = twinrender_bench(a)
    b = a.batch
    rows = [
        ("PyTorch eager", pt["sampler_ms"] / b, pt["decoder_ms"] / b, pt["peak_rss_bytes"]),
        ("ONNX Runtime", ox["sampler_ms"] / b, ox["decoder_ms"] / b, ox["peak_rss_bytes"]),
        ("twinrender", tr["samplerMs"] / b, tr["decoderMs"] / b, tr["peakRssBytes"]),
    ]
    print(f"{'':16}{'render ms/img':>14}{'decoder ms/img':>16}{'peak RSS MB':>13}   twinrender speed-up (render, decoder)")
    t_render, t_dec = rows[2][1] + rows[2][2], rows[2][2]
    for name, s, d, rss in rows:
        ratio = "" if name == "twinrender" else f"   {(s + d) / t_render:5.2f}x, {d / t_dec:5.2f}x"
        print(f"{name:16}{s + d:14.1f}{d:16.1f}{rss / 2**20:13.1f}{ratio}")
    print(f"twinrender: sgemm peak {tr['sgemmPeakGFLOPS']:.1f} GFLOP/s, achieved {tr['achievedGFLOPS']:.1f} GFLOP/s "
          f"(decoder {tr['decoderGFLOPS']:.1f}); source: {tr['source']}")
    f = tr["full"]
    print(f"twinrender after the decoder, per image: label {f['labelMs']:.2f} ms, watermark {f['watermarkMs']:.2f} ms, "
          f"PNG {f['pngEncodeMs']:.2f} ms; whole image {f['totalMsPerImage']:.1f} ms ({f['imagesPerMinute']:.0f}/min)")
    print("agreement: PyTorch vs ONNX Runtime:", agreement(pt["pixels"], ox["pixels"]))
    print("agreement: PyTorch vs twinrender:  ", agreement(pt["pixels"], tr["pixels"]))


if __name__ == "__main__":
    main()
