"""Hashing throughput of a warm file against plain reading, and the cost of re-resolving 10,000
unchanged files (warm hash cache; and the team fast path, where nothing is read or looked up).
Usage: python bench/bench_store_hashing.py [--mb 1024] [--files 10000]"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cloudsubmit.config import load_config  # noqa: E402
from cloudsubmit.store import open_store, resolve, upload  # noqa: E402
from cloudsubmit.store.hashcache import FileStat  # noqa: E402
from cloudsubmit.store.hashing import hash_file  # noqa: E402


def best_of(n, fn):
    best = None
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best = dt if best is None or dt < best else best
    return best


def plain_read(path: str) -> None:
    buf = bytearray(4 * 1024 * 1024)
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buf):
            pass


def throughput(work: Path, mb: int) -> None:
    big = work / "warm.bin"
    with open(big, "wb") as f:
        for _ in range(mb):
            f.write(os.urandom(1024 * 1024))
    plain_read(str(big))  # warm the page cache
    gb = mb / 1024
    t_read = best_of(3, lambda: plain_read(str(big)))
    t_hash = best_of(3, lambda: hash_file(str(big)))
    print(f"warm {mb} MB file: plain read {gb / t_read:.2f} GB/s, XXH3-128 hash_file {gb / t_hash:.2f} GB/s "
          f"(hashing costs {t_hash / t_read:.2f}x a read)")


def rescan(work: Path, n: int) -> None:
    src = work / "many"
    for i in range(n):
        d = src / f"d{i % 100:03d}"
        if i < 100:
            d.mkdir(parents=True)
        (d / f"f{i:05d}.tx").write_bytes(b"%d" % i * 20)
    paths = [str(p) for p in src.rglob("*.tx")]
    store_dir = work / "store"
    store_dir.mkdir()
    cfg = load_config(overrides={"store.hash_cache": str(work / "cache" / "hashes.sqlite")})
    store = open_store(store_dir.as_uri(), cfg)
    t0 = time.perf_counter()
    first = resolve(paths, store)
    cold = time.perf_counter() - t0
    assert len(first.to_upload) == n
    t_stat = best_of(3, lambda: [FileStat.of(p) for p in paths])
    t_cache = best_of(3, lambda: resolve(paths, open_store(store_dir.as_uri(), cfg)))
    upload(first, store)
    other = load_config(overrides={"store.hash_cache": str(work / "other" / "hashes.sqlite")})
    resolve(paths, open_store(store_dir.as_uri(), other))  # fills machine 'other''s index shard cache
    t_team = best_of(3, lambda: resolve(paths, open_store(store_dir.as_uri(), other)))
    print(f"{n} files: first resolve (hashing) {cold:.2f} s; stat alone {t_stat:.3f} s")
    print(f"{n} unchanged files, warm hash cache (empty team index): {t_cache:.3f} s  (target < 0.5 s)")
    print(f"{n} unchanged files, team fast path (index hit, no hash cache): {t_team:.3f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--files", type=int, default=10_000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cs-hashbench-"))
    try:
        throughput(work, args.mb)
        rescan(work, args.files)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
