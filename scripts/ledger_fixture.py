"""Writes a valid royalty ledger (docs/ledger.md format) with N events spread over H hosts.

An independent implementation of the canonical line and hash chain, used by scripts/ledger-bench:
if `twinrender royalties verify` accepts its output, the Swift writer and this script agree on the
format. Deterministic: the same arguments give the same bytes. Standard library only.
Usage: python3 scripts/ledger_fixture.py --out DIR --events N [--hosts H]
"""
import argparse
import hashlib
import json
import os
from datetime import datetime, timedelta, timezone

FIELDS = ["event_id", "job", "image_index", "twin", "model", "licensee", "grant", "grant_hash", "purpose",
          "territory", "delivered_at", "output_sha256", "watermark_payload", "amount", "agency_commission",
          "currency", "due_date", "host", "seq", "prev_hash"]


def canonical(obj):
    """JSON with the given key order, no whitespace, raw UTF-8 (matches CanonicalLine.swift for plain text)."""
    return "{" + ",".join(f"{json.dumps(k)}:{json.dumps(obj[k], ensure_ascii=False)}" for k in obj) + "}"


def event_id(job, index):
    return "evt-" + hashlib.sha256(f"twinrender-royalty-event/1\n{job}\n{index}\n".encode()).hexdigest()[:32]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--hosts", type=int, default=1)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    twins = ["ava", "bea", "cleo", "dana"]
    licensees = ["brand-north", "brand-south", "brand-east"]
    purposes = ["ecommerce", "social-media", "print"]
    territories = ["DE", "FR", "US", "EU"]
    for h in range(args.hosts):
        host = f"render-{h + 1}"
        prev = "0" * 64
        with open(os.path.join(args.out, host + ".jsonl"), "w", encoding="utf-8") as f:
            for seq, n in enumerate(range(h, args.events, args.hosts), start=1):
                job, index = f"job-{n // 2}", n % 2
                eid = event_id(job, index)
                delivered = start + timedelta(seconds=n * 20)
                amount = 2500 + (n % 7) * 100
                e = {
                    "event_id": eid, "job": job, "image_index": index, "twin": twins[n % 4],
                    "model": "model-" + twins[n % 4], "licensee": licensees[n % 3], "grant": f"grant-{n % 4}",
                    "grant_hash": hashlib.sha256(f"grant-{n % 4}".encode()).hexdigest(),
                    "purpose": purposes[n % 3], "territory": territories[n % 4],
                    "delivered_at": delivered.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "output_sha256": hashlib.sha256(eid.encode() + b"png").hexdigest(),
                    "watermark_payload": hashlib.sha256(eid.encode()).hexdigest()[:16],
                    "amount": amount, "agency_commission": amount * 15 // 100,
                    "currency": "EUR" if n % 5 else "USD",
                    "due_date": (delivered.date() + timedelta(days=30)).isoformat(),
                    "host": host, "seq": seq, "prev_hash": prev,
                }
                assert list(e) == FIELDS
                body = canonical(e)
                digest = hashlib.sha256(body.encode()).hexdigest()
                f.write(body[:-1] + f',"hash":"{digest}"}}\n')
                prev = digest


if __name__ == "__main__":
    main()
