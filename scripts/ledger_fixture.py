"""Writes a valid, signed royalty ledger (docs/ledger.md format) with N events spread over H hosts.

An independent implementation of the canonical line, the hash chain, the Ed25519 line signatures
and the signed segment heads (signing through the `cryptography` package, i.e. OpenSSL), used by
scripts/ledger-bench and Tests/TwinLedgerTests/FixtureTests.swift: if the Swift verifier accepts its
output, the Swift writer and this script agree on the format. Deterministic: the same arguments give
the same bytes (host keys derive from the host name; Ed25519 signatures are deterministic).
Host keys go to KEYS (default OUT.keys): `<host>.pub` (base64 of the 32-byte public key, one line,
as every twinrender .pub file) and `<host>.key` (base64 of the 32-byte private seed, mode 0600).
Usage: python3 scripts/ledger_fixture.py --out DIR --events N [--hosts H] [--keys KEYS]
Needs: python3 with the `cryptography` package.
"""
import argparse
import base64
import hashlib
import json
import os
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

FIELDS = ["v", "event_id", "job", "image_index", "twin", "model", "licensee", "order_signer", "order_sha256",
          "grant", "grant_hash", "purpose", "territory", "delivered_at", "output_sha256", "watermark_payload",
          "amount", "commission_basis_points", "agency_commission", "currency", "due_date", "host", "seq",
          "prev_hash"]
EVENT_PREFIX = b"twinrender.ledger.event.v2\n"
HEAD_PREFIX = b"twinrender.ledger.head.v2\n"
GRANT_BASIS_POINTS = [1500, 1999, 2000, 2500]


def canonical(obj):
    """JSON with the given key order, no whitespace, raw UTF-8 (matches CanonicalLine.swift for plain text)."""
    return "{" + ",".join(f"{json.dumps(k)}:{json.dumps(obj[k], ensure_ascii=False)}" for k in obj) + "}"


def event_id(job, index):
    return "evt-" + hashlib.sha256(f"twinrender-royalty-event/1\n{job}\n{index}\n".encode()).hexdigest()[:32]


def host_key(host, keys_dir):
    """The fixture key of `host` (seed = SHA-256 of a label and the name), written to keys_dir."""
    seed = hashlib.sha256(f"ledger-fixture-host-key\n{host}\n".encode()).digest()
    key = Ed25519PrivateKey.from_private_bytes(seed)
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    with open(os.path.join(keys_dir, host + ".pub"), "w") as f:
        f.write(base64.b64encode(public).decode() + "\n")
    secret = os.path.join(keys_dir, host + ".key")
    with open(os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(base64.b64encode(seed).decode() + "\n")
    return key


def event(n, host, seq, prev, start):
    """The n-th event of the fixture, without hash and signature. Events 0-9 are format 2 (no
    image fingerprint, as written before fingerprints were recorded), the rest format 3."""
    twins = ["ava", "bea", "cleo", "dana"]
    licensees = ["brand-north", "brand-south", "brand-east"]
    job, index = f"job-{n // 2}", n % 2
    eid = event_id(job, index)
    delivered = start + timedelta(seconds=n * 20)
    amount = 2500 + (n % 7) * 100 + n % 3
    bp = GRANT_BASIS_POINTS[n % 4]
    e = {
        "v": 2 if n < 10 else 3, "event_id": eid, "job": job, "image_index": index, "twin": twins[n % 4],
        "model": "model-" + twins[n % 4], "licensee": licensees[n % 3], "order_signer": "party:" + licensees[n % 3],
        "order_sha256": hashlib.sha256(f"order {job}".encode()).hexdigest(), "grant": f"grant-{n % 4}",
        "grant_hash": hashlib.sha256(f"grant-{n % 4}".encode()).hexdigest(),
        "purpose": ["ecommerce", "social-media", "print"][n % 3], "territory": ["DE", "FR", "US", "EU"][n % 4],
        "delivered_at": delivered.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "output_sha256": hashlib.sha256(eid.encode() + b"png").hexdigest(),
        "watermark_payload": hashlib.sha256(eid.encode()).hexdigest()[:16],
        "amount": amount, "commission_basis_points": bp, "agency_commission": (amount * bp + 5000) // 10000,
        "currency": "EUR" if n % 5 else "USD", "due_date": (delivered.date() + timedelta(days=30)).isoformat(),
        "host": host, "seq": seq, "prev_hash": prev,
    }
    if n >= 10:
        cells = hashlib.sha256(f"fingerprint {eid}".encode()).digest() * 32
        fingerprint = "fp1:128x128:" + base64.b64encode(cells).decode()
        e = {k: v for k, v in list(e.items())[:15]} | {"image_fingerprint": fingerprint} | dict(list(e.items())[15:])
    return e


def write_segment(out, host, key, numbers, start):
    prev, size, seq = "0" * 64, 0, 0
    with open(os.path.join(out, host + ".jsonl"), "w", encoding="utf-8") as f:
        for seq, n in enumerate(numbers, start=1):
            e = event(n, host, seq, prev, start)
            assert list(e) == (FIELDS if e["v"] == 2 else FIELDS[:15] + ["image_fingerprint"] + FIELDS[15:])
            body = canonical(e)
            digest = hashlib.sha256(body.encode()).hexdigest()
            signature = base64.b64encode(key.sign(EVENT_PREFIX + body.encode())).decode()
            line = body[:-1] + f',"hash":"{digest}","signature":"{signature}"}}\n'
            f.write(line)
            size += len(line.encode())
            prev = digest
    head = canonical({"v": 2, "host": host, "seq": seq, "hash": prev, "size": size, "time": "2026-04-01T00:00:00Z"})
    signature = base64.b64encode(key.sign(HEAD_PREFIX + head.encode())).decode()
    with open(os.path.join(out, host + ".jsonl.head"), "w", encoding="utf-8") as f:
        f.write(head[:-1] + f',"signature":"{signature}"}}\n')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--hosts", type=int, default=1)
    parser.add_argument("--keys")
    args = parser.parse_args()
    keys_dir = args.keys or args.out.rstrip("/") + ".keys"
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(keys_dir, exist_ok=True)
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    for h in range(args.hosts):
        host = f"render-{h + 1}"
        write_segment(args.out, host, host_key(host, keys_dir), range(h, args.events, args.hosts), start)


if __name__ == "__main__":
    main()
