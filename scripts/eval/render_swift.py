"""Render evaluation images with the real Swift daemon (`twinrender serve --once`).

Sets up a throw-away installation under --out (config, spool, registry, keys, ledger, log), as
scripts/demo does: one licensee, one model party per twin, every twin of the model registered
with its weight file pinned, and an owner-signed grant per twin with room for all the jobs.
The config turns the visible AI label off (`[output] label = false`) so it does not cover the
figure; the invisible watermark stays. Then it submits one job per image with `twinrender
submit`, drains the queue with one worker and one BLAS thread, checks every job was delivered,
and writes <out>/manifest.jsonl (format of evaluate.py; `file` is relative to <out>):

    {"file": "spool/out/eval-0000-0.png", "twin": "ava", "garment": "t-shirt", ..., "seed": 2026000,
     "stream": 0, "steps": 20, "guidance": 3.0, "sampler": "ddim", "renderer": "swift-twinrender"}

Conditions (default): image i gets exactly the conditions of sample_torch.py's image i for the
same --seed (twin, pose, garment cycle evenly over i; colour, pattern, background drawn from
numpy's default_rng([seed, i])). With --count 576 every (twin, pose, garment) occurs 3 times.
Noise: the daemon's noise stream is the image index within a job, so each job renders one image
(stream 0) with its own noise seed  seed * 1000 + i;  sample_torch.py instead uses one seed and
stream i, so its images have different noise (compare_torch.py renders the same noise in PyTorch).
--jobs FILE renders the conditions in FILE instead (JSON Lines with twin, garment, colour,
pattern, pose, background and seed, e.g. `contact_sheet.py --jobs`).

    scripts/.venv/bin/python scripts/eval/render_swift.py --out scripts/work/swift --count 576
    scripts/.venv/bin/python scripts/eval/evaluate.py --images scripts/work/swift \
        --manifest scripts/work/swift/manifest.jsonl --report scripts/work/swift/report.json --threads 1

Needs the release binary (`swift build -c release --product twinrender`) and numpy.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LICENSEE = "eval-licensee"
JOB_KEYS = ("twin", "garment", "colour", "pattern", "pose", "background")


def model_meta(model):
    with open(os.path.join(model, "model.json")) as f:
        meta = json.load(f)
    vocabs = {v["name"]: v["values"] for v in meta["conditioning"]["vocabularies"]}
    return meta, [t["id"] for t in meta["twins"]], vocabs


def spread(twins, vocabs, count, seed):
    """sample_torch.conditions(), without torch: image i's twin, pose, garment, colour, pattern, background."""
    jobs = []
    nt, npose, ng = len(twins), len(vocabs["pose"]), len(vocabs["garment"])
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        job = {"twin": twins[i % nt], "pose": vocabs["pose"][(i // nt) % npose],
               "garment": vocabs["garment"][(i // (nt * npose)) % ng]}
        for key in ("colour", "pattern", "background"):
            job[key] = vocabs[key][int(rng.integers(0, len(vocabs[key])))]
        job["seed"] = seed * 1000 + i
        jobs.append(job)
    return jobs


def read_jobs(path):
    jobs = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                row = json.loads(line)
                missing = [k for k in JOB_KEYS + ("seed",) if k not in row]
                if missing:
                    raise SystemExit(f"{path}:{n}: missing {', '.join(missing)}")
                jobs.append({k: row[k] for k in JOB_KEYS + ("seed",)})
    return jobs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="work directory (emptied first)")
    ap.add_argument("--count", type=int, default=576)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--jobs", help="JSON Lines of conditions + seed to render instead of the default spread")
    ap.add_argument("--prefix", default="eval", help="job id prefix")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--guidance", type=float)
    ap.add_argument("--sampler", choices=["ddim", "dpmpp-2m"])
    ap.add_argument("--model", default=os.path.join(ROOT, "Models", "twin-mini-v1"))
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build", "release", "twinrender"))
    ap.add_argument("--blas-threads", type=int, default=1)
    args = ap.parse_args()

    binary, model, out = os.path.abspath(args.bin), os.path.abspath(args.model), os.path.abspath(args.out)
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"{binary}: not built; run `swift build -c release --product twinrender`")
    meta, twins, vocabs = model_meta(model)
    defaults = meta["sampler_defaults"]
    steps = args.steps or defaults["steps"]
    guidance = defaults["guidance"] if args.guidance is None else args.guidance
    sampler = args.sampler or defaults.get("sampler", "ddim")
    jobs = read_jobs(args.jobs) if args.jobs else spread(twins, vocabs, args.count, args.seed)
    per_twin = {t: sum(j["twin"] == t for j in jobs) for t in twins}

    shutil.rmtree(out, ignore_errors=True)
    for d in ("keys", "jobs"):
        os.makedirs(os.path.join(out, d))
    config = os.path.join(out, "twinrender.toml")
    with open(config, "w") as f:
        f.write(f'host = "eval"\n[spool]\ndirectory = "spool"\nrescan_interval_seconds = 1\n'
                f'[model]\ndirectory = "{model}"\n[consent]\nregistry = "registry"\ntrust_anchors = ["keys/registrar.pub"]\n'
                f'[ledger]\ndirectory = "ledger"\nhost_key = "keys/eval.key"\n'
                f'[watermark]\nkey_file = "keys/watermark.key"\n'
                f'[log]\ndirectory = "log"\nheartbeat_interval_seconds = 30\n'
                f'[workers]\ncount = 1\nblas_threads = {args.blas_threads}\n[output]\nlabel = false\n')
    env = dict(os.environ, TWINRENDER_CONFIG=config)

    def tr(*argv, **kw):
        return subprocess.run([binary, *argv], env=env, check=True, stdout=subprocess.PIPE, text=True, **kw).stdout

    keys = os.path.join(out, "keys")
    tr("registrar", "init", "--out", keys, "--id", "registrar")
    tr("watermark", "keygen", "--out", os.path.join(keys, "watermark.key"))
    reg = ["--registrar-key", os.path.join(keys, "registrar.key")]
    tr("keygen", "--party", "eval", "--role", "host", "--out", keys, *reg)
    tr("keygen", "--party", LICENSEE, "--role", "licensee", "--out", keys, *reg)
    for t in twins:
        tr("keygen", "--party", f"model-{t}", "--role", "model", "--out", keys, *reg)
        tr("twin", "register", "--twin", t, "--weights", os.path.join(model, "twins", f"{t}.safetensors"),
           "--key", os.path.join(keys, f"model-{t}.key"))
        tr("consent", "grant", "--twin", t, "--licensee", LICENSEE, "--purpose", "editorial", "--territory", "EU",
           "--from", "2026-01-01", "--until", "2030-12-31", "--max-images", str(max(1, per_twin[t])),
           "--fee", "1.00", "--currency", "EUR", "--key", os.path.join(keys, f"model-{t}.key"))

    t0 = time.time()
    ids = []
    for i, job in enumerate(jobs):
        jid = f"{args.prefix}-{i:04d}"
        body = {"id": jid, **{k: job[k] for k in JOB_KEYS[1:]}, "twin": job["twin"], "licensee": LICENSEE,
                "purpose": "editorial", "territory": "DE", "seed": job["seed"], "steps": steps,
                "guidance": guidance, "sampler": sampler, "count": 1}
        path = os.path.join(out, "jobs", f"{jid}.json")
        with open(path, "w") as f:
            json.dump(body, f)
        tr("submit", "--key", os.path.join(keys, f"{LICENSEE}.key"), path)
        ids.append(jid)
    print(f"submitted {len(ids)} jobs in {time.time() - t0:.0f}s", flush=True)

    t0 = time.time()
    with open(os.path.join(out, "serve.stderr.jsonl"), "w") as log:
        subprocess.run([binary, "serve", "--once"], env=env, check=True, stdout=log, stderr=log)
    render_s = time.time() - t0
    spool = os.path.join(out, "spool")
    bad = sorted(os.listdir(os.path.join(spool, "failed")) + os.listdir(os.path.join(spool, "rejected")))
    if bad:
        raise SystemExit(f"jobs not delivered: {bad[:10]} (see {spool}/failed, {spool}/rejected)")
    with open(os.path.join(out, "manifest.jsonl"), "w") as manifest:
        for jid, job in zip(ids, jobs):
            png = os.path.join("spool", "out", f"{jid}-0.png")
            if not os.path.isfile(os.path.join(out, png)):
                raise SystemExit(f"{png}: missing although the job was not refused")
            manifest.write(json.dumps({"file": png, **job, "stream": 0, "steps": steps, "guidance": guidance,
                                       "sampler": sampler, "renderer": "swift-twinrender", "job": jid}) + "\n")
    print(f"rendered {len(ids)} images in {render_s:.0f}s ({render_s / len(ids):.2f} s/image, "
          f"1 worker, {args.blas_threads} BLAS thread); manifest {out}/manifest.jsonl", flush=True)


if __name__ == "__main__":
    sys.exit(main())
