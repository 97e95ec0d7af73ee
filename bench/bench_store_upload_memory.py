"""Upload memory must be bounded by ``store.s3.upload_memory_mb`` whatever the blob sizes: a first
``cloudsubmit upload`` into moto S3 of ``--count`` blobs at each of ``--sizes`` MB (each case into
its own store prefix, from a fresh machine), against an upload of one 4 KB file in the same run.

What each case holds beyond the one-file upload (interpreter, boto3, SQLite, the hash buffers:
what does not grow) is printed against the setting, and the growth at the largest size against
the growth at the smallest: a blob read whole, or parts queued without bound, would make both
follow the blob size. The per-file part of upload memory (a resolution's record per file, ~1 KB)
is measured by bench_store_packs.py on 100,000 small files.

    python bench/bench_store_upload_memory.py [--sizes 64,512] [--count 4] [--runs 1]

Each command is a fresh child process; peak RSS is its own (see _benchlib.peak_rss)."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

from _benchlib import cloudsubmit_setting, peak_rss, verdict
from bench_store_s3 import Server

REPO = Path(__file__).resolve().parent.parent


def write_blobs(folder: Path, count: int, mb: int) -> List[str]:
    """``count`` distinct files of ``mb`` MB (random bytes: nothing deduplicates or compresses)."""
    folder.mkdir(parents=True)
    paths = []
    for i in range(count):
        p = folder / f"sim{i:02d}.bgeo"
        with open(p, "wb") as f:
            for _ in range(mb):
                f.write(os.urandom(1 << 20))
        paths.append(str(p))
    return paths


def upload_mb(env: Dict[str, str], work: Path, name: str, paths: List[str], runs: int,
              sets: List[str]) -> float:
    """Median peak RSS (MB) of ``runs`` first uploads of ``paths``, each into a fresh prefix."""
    manifest = work / f"{name}.json"
    manifest.write_text(json.dumps({"files": paths}), encoding="utf-8")
    peaks = []
    for i in range(runs):
        cmd = [sys.executable, "-m", "cloudsubmit", *sets, "--set", f"store.hash_cache={work / f'{name}-{i}' / 'h.sqlite'}",
               "upload", "--store", f"s3://cs-upmem/{name}-{i}", "--manifest", str(manifest)]
        peaks.append(peak_rss(cmd, env, str(REPO), ok_codes=(0,))[1])
    return statistics.median(peaks)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=os.environ.get("BENCH_UPMEM_SIZES", "64,512"),
                    help="blob sizes in MB, comma-separated (default 64,512)")
    ap.add_argument("--count", type=int, default=int(os.environ.get("BENCH_UPMEM_COUNT", 4)))
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--cs-set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override for the uploads, e.g. store.s3.upload_memory_mb=32")
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    work = Path(tempfile.mkdtemp(prefix="cs-upmem-"))
    server = Server()
    try:
        env = server.tool_env()
        server.client("cs-upmem")
        sets = [a for kv in args.cs_set for a in ("--set", kv)]
        limit = int(cloudsubmit_setting("store.s3.upload_memory_mb", env, args.cs_set))
        threshold = int(cloudsubmit_setting("store.s3.multipart_threshold_mb", env, args.cs_set))
        if sizes[0] < threshold:  # streamed in one PUT: no parts, so nothing of the setting to measure
            raise SystemExit(f"--sizes: every size must be at least store.s3.multipart_threshold_mb ({threshold})")
        (work / "one").mkdir()
        (work / "one" / "tex.tx").write_bytes(os.urandom(4096))
        base = upload_mb(env, work, "one", [str(work / "one" / "tex.tx")], args.runs, sets)
        print(f"upload of one 4 KB file: {base:.0f} MB peak RSS; store.s3.upload_memory_mb = {limit} MB")
        grown: Dict[int, float] = {}
        for mb in sizes:
            paths = write_blobs(work / f"b{mb}", args.count, mb)
            peak = upload_mb(env, work, f"b{mb}", paths, args.runs, sets)
            grown[mb] = max(0.0, peak - base)
            print(f"{args.count} blobs of {mb} MB: {peak:.0f} MB peak RSS, {grown[mb]:.0f} MB beyond one file: "
                  f"/ upload_memory_mb {verdict(grown[mb], limit)}")
            shutil.rmtree(work / f"b{mb}")
        small, large = grown[sizes[0]], grown[sizes[-1]]
        print(f"growth at {sizes[-1]} MB blobs / growth at {sizes[0]} MB blobs (blob size x{sizes[-1] / sizes[0]:.0f}): "
              f"{large:.0f} / {small:.0f} MB: {verdict(large, max(small, 1.0), target=1.25)}")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
