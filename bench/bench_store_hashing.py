"""Hashing against its limit, in the same run: a tight ``readinto`` + XXH3-128 loop over a warm
file (one thread), and the same loop on two threads across many files. Then the cost of
re-resolving 10,000 unchanged files (warm hash cache; and the team fast path).

    python bench/bench_store_hashing.py [--mb 512] [--many 16] [--many-mb 32] [--files 10000] [--runs 5]

Targets: ``hash_file`` >= 0.9x the tight loop on one file; ``resolve`` (which hashes on the
store's threads) >= 0.9x the two-thread loop across many files. Figures are medians of
``--runs`` alternating runs, so a noisy neighbour slows both sides alike."""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cloudsubmit.config import load_config  # noqa: E402
from cloudsubmit.store import open_store, resolve, upload  # noqa: E402
from cloudsubmit.store.hashcache import FileStat  # noqa: E402
from cloudsubmit.store.hashing import hash_file  # noqa: E402

BLOCK = 4 * 1024 * 1024


def tight_hash(path: str) -> str:
    """The limit: one buffer, ``readinto``, ``update``; nothing else."""
    import xxhash

    h = xxhash.xxh3_128()
    buf = memoryview(bytearray(BLOCK))
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                return h.hexdigest()
            h.update(buf[:n])


def tight_threads(paths, threads: int = 2) -> None:
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(tight_hash, paths))


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def paired(runs: int, ours, peer, setup=None):
    """Median seconds of ``ours`` and ``peer``, run alternately (``setup`` untimed before ``ours``)."""
    a, b = [], []
    for _ in range(runs):
        if setup:
            setup()
        a.append(timed(ours))
        b.append(timed(peer))
    return statistics.median(a), statistics.median(b)


def write_random(path: Path, mb: int) -> None:
    with open(path, "wb") as f:
        for _ in range(mb):
            f.write(os.urandom(1024 * 1024))


def verdict(ratio: float, target: float) -> str:
    return "OK" if ratio >= target else "BELOW"


def one_file(work: Path, mb: int, runs: int) -> None:
    big = work / "warm.bin"
    write_random(big, mb)
    tight_hash(str(big))  # warm the page cache
    assert hash_file(str(big)) == tight_hash(str(big))
    ours, peer = paired(runs, lambda: hash_file(str(big)), lambda: tight_hash(str(big)))
    gb = mb / 1024
    print(f"one warm {mb} MB file: hash_file {gb / ours:.2f} GB/s, tight readinto+XXH3 loop {gb / peer:.2f} GB/s: "
          f"ratio {peer / ours:.2f}  (target >= 0.90) {verdict(peer / ours, 0.9)}")


def many_files(work: Path, count: int, mb: int, runs: int) -> None:
    folder = work / "many-big"
    folder.mkdir()
    paths = []
    for i in range(count):
        p = folder / f"plate.{i:04d}.exr"
        write_random(p, mb)
        paths.append(str(p))
    tight_threads(paths)  # warm
    store_dir = work / "store-many"
    store_dir.mkdir()
    cfg = load_config(overrides={"store.hash_cache": str(work / "cache-many" / "hashes.sqlite")})
    stamp = [time.time_ns()]

    def ours() -> None:
        res = resolve(paths, open_store(store_dir.as_uri(), cfg))
        assert sum(f.via == "hashed" for f in res.files) == count

    def touch() -> None:  # a new mtime: the hash cache misses and every file is hashed again
        stamp[0] += 1_000_000_000
        for p in paths:
            os.utime(p, ns=(stamp[0], stamp[0]))

    t_ours, t_peer = paired(runs, ours, lambda: tight_threads(paths), touch)
    gb = count * mb / 1024
    print(f"{count} x {mb} MB warm files: resolve (hashing, 2 threads) {gb / t_ours:.2f} GB/s, "
          f"tight loop on 2 threads {gb / t_peer:.2f} GB/s: ratio {t_peer / t_ours:.2f}  (target >= 0.90) "
          f"{verdict(t_peer / t_ours, 0.9)}")


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
    t_stat = min(timed(lambda: [FileStat.of(p) for p in paths]) for _ in range(3))
    t_cache = min(timed(lambda: resolve(paths, open_store(store_dir.as_uri(), cfg))) for _ in range(3))
    upload(first, store)
    other = load_config(overrides={"store.hash_cache": str(work / "other" / "hashes.sqlite")})
    resolve(paths, open_store(store_dir.as_uri(), other))  # fills machine 'other''s index shard cache
    t_team = min(timed(lambda: resolve(paths, open_store(store_dir.as_uri(), other))) for _ in range(3))
    print(f"{n} files: first resolve (hashing) {cold:.2f} s; stat alone {t_stat:.3f} s")
    print(f"{n} unchanged files, warm hash cache (empty team index): {t_cache:.3f} s  (target < 0.5 s)")
    print(f"{n} unchanged files, team fast path (index hit, no hash cache): {t_team:.3f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=int(os.environ.get("BENCH_HASH_MB", 512)))
    ap.add_argument("--many", type=int, default=16)
    ap.add_argument("--many-mb", type=int, default=int(os.environ.get("BENCH_HASH_MANY_MB", 32)))
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cs-hashbench-"))
    try:
        one_file(work, args.mb, args.runs)
        many_files(work, args.many, args.many_mb, args.runs)
        rescan(work, args.files)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
