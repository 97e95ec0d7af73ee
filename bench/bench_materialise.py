"""Figures for the job side of the store: materialise on a node (cold and warm node cache),
render outputs up and down. Directory store by default; with --s3 the moto server on loopback
(real boto3), to see request overhead. Prints figures; asserts nothing about speed.

    python bench/bench_materialise.py [--small 2000] [--large 10] [--large-mb 20] [--s3]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cloudsubmit.store.hashing import hash_file  # noqa: E402
from cloudsubmit.store.local import LocalBackend  # noqa: E402
from cloudsubmit.store.manifest import Manifest, ManifestEntry, write_inputs
from cloudsubmit.storekeys import blob_key  # noqa: E402
from cloudsubmit.store.materialise import materialise  # noqa: E402
from cloudsubmit.store.outputs import download_outputs, snapshot, upload_outputs  # noqa: E402


def make_files(root: Path, small: int, large: int, large_mb: int) -> list:
    rels = []
    for i in range(small):
        rel = f"assets/a{i // 100:03d}/tex_{i:05d}.tx"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(os.urandom(8192))
        rels.append(rel)
    for i in range(large):
        rel = f"cache/sim_{i:03d}.bgeo.sc"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        with open(root / rel, "wb") as f:
            for _ in range(large_mb):
                f.write(os.urandom(1 << 20))
        rels.append(rel)
    return rels


def publish(backend, root: Path, rels: list, job: str) -> Manifest:
    entries = []
    for rel in rels:
        p = root / rel
        digest = hash_file(str(p))
        if not backend.exists(blob_key(digest)):
            backend.put_file(blob_key(digest), str(p))
        st = p.stat()
        entries.append(ManifestEntry("gs", rel, digest, st.st_size, st.st_mtime_ns))
    m = Manifest(job_id=job, roots={"gs": str(root)}, files=entries)
    write_inputs(backend, m)
    return m


def timed(label: str, fn, nbytes: int = 0):
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    rate = f", {nbytes / dt / 1e6:8.1f} MB/s" if nbytes else ""
    print(f"{label:<48} {dt:8.3f} s{rate}")
    return out


def open_backend(args, work: Path):
    if not args.s3:
        return LocalBackend(str(work / "store")), None
    import socket

    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="testing",
                      AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    boto3.client("s3").create_bucket(Bucket="bench")
    from cloudsubmit.store.s3 import S3Backend

    return S3Backend("s3://bench/team", {}, 8), server


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=2000)
    ap.add_argument("--large", type=int, default=10)
    ap.add_argument("--large-mb", type=int, default=20)
    ap.add_argument("--s3", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cs-bench-", dir=os.environ.get("BENCH_DIR")))
    backend, server = open_backend(args, work)
    try:
        src = work / "gs"
        rels = make_files(src, args.small, args.large, args.large_mb)
        m = publish(backend, src, rels, "jobA")
        publish(backend, src, rels, "jobB")  # a second job on the same inputs
        total = m.total_bytes
        print(f"{len(rels)} files, {total / 1e6:.0f} MB, store {backend.url}")
        ra = timed("materialise job A (cold node cache)", lambda: materialise(
            backend, "jobA", str(work / "s1"), cache_dir=str(work / "cache")), total)
        rb = timed("materialise job B (warm cache: links only)", lambda: materialise(
            backend, "jobB", str(work / "s2"), cache_dir=str(work / "cache")))
        print(f"{'':<48} fetched A={ra.blobs_fetched} B={rb.blobs_fetched}, linked B={rb.linked}")
        out = work / "out"
        out.mkdir()
        before = snapshot([str(out)])
        for i in range(200):  # what a render writes: new content
            (out / f"beauty.{i:04d}.exr").write_bytes(os.urandom(256 * 1024))
        up = timed("upload 200 outputs", lambda: upload_outputs(backend, "jobA", "n1", [str(out)], before=before))
        down = timed("download outputs (fresh folder)", lambda: download_outputs(backend, "jobA", str(work / "dl")))
        again = timed("download outputs again (all present)", lambda: download_outputs(backend, "jobA", str(work / "dl")))
        print(f"{'':<48} up={up.uploaded_files} down={down.downloaded_files} skipped again={again.skipped_files}")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
