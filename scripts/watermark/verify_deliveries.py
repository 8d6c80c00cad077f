"""End-to-end check of `twinrender verify` on images the daemon delivered: every PNG in
SPOOL/out (label + mark + XMP as delivered) is attacked with each of watermark-bench's attacks
(scripts/watermark/bench.py, same seeds), and `twinrender verify --json --ledger LEDGER` must
resolve the copy to the job and image index in its file name (`<job>-<index>.png`).
Prints, per attack, how many resolved correctly and the outcomes seen (a wrong job would count
as a failure, not a hit), plus how many unattacked files are `exact_file`.

    scripts/.venv/bin/python scripts/watermark/verify_deliveries.py \
        --twinrender .build/release/twinrender --spool DEMO/spool --ledger DEMO/ledger

Needs pillow and numpy (scripts/.venv). The delivered images are already marked, which is why
watermark-bench itself needs unmarked renders (see docs/watermark.md, "Measured on real renders").
"""

import argparse
import json
import pathlib
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import bench  # noqa: E402
from PIL import Image  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--twinrender", default=str(bench.ROOT / ".build/release/twinrender"))
    parser.add_argument("--spool", required=True)
    parser.add_argument("--ledger", required=True)
    parser.add_argument("--key", required=True, help="the installation's watermark key (watermark.key_file)")
    parser.add_argument("--work", default=str(bench.ROOT / "scripts/work/verify-deliveries"))
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    files = sorted(pathlib.Path(args.spool, "out").glob("*.png"))
    if not files:
        sys.exit(f"no delivered PNGs in {args.spool}/out")
    results = {"images": len(files), "resolved": {}, "outcomes": {}, "exact_file": 0}
    for name, (function, quality) in bench.ATTACKS.items():
        hits, outcomes = 0, {}
        for index, file in enumerate(files):
            job, image = file.stem.rsplit("-", 1)
            if name == "none":
                path = file
            else:
                copy = function(Image.open(file).convert("RGB"), args.seed + index)
                path = work / f"{file.stem}.{'jpg' if quality else 'png'}"
                copy.save(path, "JPEG", quality=quality) if quality else copy.save(path)
            run = subprocess.run([args.twinrender, "verify", str(path), "--ledger", args.ledger, "--key", args.key, "--json"],
                                 capture_output=True, text=True)
            report = json.loads(run.stdout)
            event = report.get("event") or {}
            hits += report["outcome"] == "resolved" and event.get("job") == job and event.get("image_index") == int(image)
            outcomes[report["outcome"]] = outcomes.get(report["outcome"], 0) + 1
            if name == "none" and report.get("exact_file"):
                results["exact_file"] += 1
        results["resolved"][name], results["outcomes"][name] = hits, outcomes
        print(f"{name}: {hits}/{len(files)} resolved to their job and image; outcomes {outcomes}", flush=True)
    print(f"exact_file on the unattacked deliveries: {results['exact_file']}/{len(files)}")
    (work / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
