"""A new shot must cost what the shot costs, not what the store holds: ``cloudsubmit upload`` of a
fresh 2,000-file shot into an empty store and into a full one, in the same run.

1. S3 (moto server, requests counted): the full store already holds ``--blobs`` blobs (14,000)
   and their index entries; this machine has looked at both stores once. Prints wall time, GET
   (listing) and HEAD requests and all requests for both. Small files go up in packs by default;
   ``--cs-set store.packs.max_file_kb=0`` sends every file as its own blob (the case where the
   listing of ``cas/`` used to grow with the store). Peer, same run: plain boto3 sending the same
   requests as that case (a listing of ``index/``, the 16 hex parts of ``cas/``, one PUT per file,
   one index object) into each store, so moto's own growth with the bucket is measured, and the
   ratio printed is cloudsubmit's divided by the peer's.
2. Directory store: the full store holds ``--entries`` index entries (1,000,000) from many shots,
   already read once by this machine (its local index view is warm, as on any working day).
   Target: the full store's wall time <= 1.10x the empty one's.

    python bench/bench_store_new_shot.py [--files 2000] [--blobs 14000] [--entries 1000000] [--runs 3]

Each measured command is a fresh child process (wall and peak RSS from ``wait4``); runs of the two
stores are interleaved so a noisy neighbour slows both alike; medians are printed."""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _benchlib import peak_rss, verdict
from bench_store_s3 import Server

REPO = Path(__file__).resolve().parent.parent
LIMIT = 1.10
RSS_LIMIT_MB = 200  # a first look's peak RSS, whatever the store holds
SHARD_ENTRIES = 2000


def new_shot(root: Path, n: int, seed: int) -> Path:
    """``n`` files of 1-8 KB in 20 folders, unique content; returns the manifest."""
    rng = random.Random(seed)
    paths = []
    for i in range(n):
        p = root / f"shot{seed:03d}" / f"d{i % 20:02d}" / f"tex{i:05d}.tx"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rng.randbytes(rng.randint(1000, 8000)))
        paths.append(str(p))
    manifest = root / f"shot{seed:03d}.json"
    manifest.write_text(json.dumps({"files": paths}))
    return manifest


def fill_index(backend, entries: int) -> None:
    """``entries`` index entries of earlier shots, one shard per 2,000-file shot, written
    straight to the store (no view in this process: its pages would count in no measurement,
    but a million entries held here would cost the machine ~800 MB for the whole run)."""
    sys.path.insert(0, str(REPO))
    from cloudsubmit.store.index import IndexEntry, encode_shard
    from cloudsubmit.storekeys import new_shard_key

    rng = random.Random(1)
    for s in range(0, entries, SHARD_ENTRIES):
        backend.put_bytes(new_shard_key(), encode_shard(
            [IndexEntry(f"{rng.getrandbits(128):032x}", 1000 + i, "_posix",
                        f"show/seq{s // 100_000:02d}/shot{s // SHARD_ENTRIES:04d}/d{i % 20:02d}/tex{i:05d}.tx",
                        1_700_000_000_000_000_000 + i, "artist", 1.0)
             for i in range(min(SHARD_ENTRIES, entries - s))]), if_absent=True)


def fill_blobs(backend, blobs: int, threads: int = 8) -> None:
    """``blobs`` real blobs (named by their hash) and the index entries that list them."""
    sys.path.insert(0, str(REPO))
    import xxhash

    from cloudsubmit.store.index import IndexEntry, TeamIndex

    rng = random.Random(2)
    bodies = [rng.randbytes(64) for _ in range(blobs)]
    named = [(xxhash.xxh3_128_hexdigest(b), b) for b in bodies]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda item: backend.put_bytes("cas/" + item[0], item[1]), named))
    index = TeamIndex(backend)
    for s in range(0, blobs, SHARD_ENTRIES):
        index.write_shard([IndexEntry(d, len(b), "_posix", f"old/shot{s // SHARD_ENTRIES:03d}/f{i:05d}.tx", 1, "artist", 1.0)
                           for i, (d, b) in enumerate(named[s:s + SHARD_ENTRIES])])


def peer_here(url: str, files: int, threads: int = 8) -> None:
    """The requests a no-packs cloudsubmit upload of a new ``files``-file shot sends (1-8 KB
    bodies, as new_shot writes), from plain boto3: what moto costs for them without our code."""
    import boto3

    bucket, _, prefix = url[len("s3://"):].partition("/")
    s3 = boto3.client("s3")
    rng = random.Random(files)

    def listing(part: str) -> int:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/{part}")
        return sum(len(page.get("Contents", ())) for page in pages)

    listing("index/")
    bodies = [(f"{rng.getrandbits(128):032x}", rng.randbytes(rng.randint(1000, 8000))) for _ in range(files)]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(listing, [f"cas/{d}" for d in "0123456789abcdef"]))
        list(pool.map(lambda kv: s3.put_object(Bucket=bucket, Key=f"{prefix}/cas/{kv[0]}", Body=kv[1]), bodies))
    s3.put_object(Bucket=bucket, Key=f"{prefix}/index/peer-{rng.getrandbits(64):016x}.json.gz",
                  Body=rng.randbytes(files * 60))


def median(runs, key):
    return statistics.median(r[key] for r in runs)


def s3_part(args, work: Path, repo: str) -> None:
    import boto3

    server = Server()
    try:
        env = dict(os.environ, AWS_ENDPOINT_URL_S3=server.url, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                   AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true", PYTHONPATH=repo,
                   CLOUDSUBMIT_USER_CONFIG=os.devnull)
        boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="bench",
                     aws_secret_access_key="bench").create_bucket(Bucket="shots")
        os.environ.update({k: env[k] for k in ("AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                               "AWS_DEFAULT_REGION", "AWS_EC2_METADATA_DISABLED")})
        from cloudsubmit.store.s3 import S3Backend

        fill_blobs(S3Backend("s3://shots/full", {}, 8), args.blobs)
        sets = [a for kv in args.cs_set for a in ("--set", kv)]

        def upload(name: str, manifest: Path) -> dict:
            server.reset()
            wall, rss = peak_rss([sys.executable, "-m", "cloudsubmit", *sets, "upload", "--store", f"s3://shots/{name}",
                                  "--manifest", str(manifest)], dict(env, XDG_CACHE_HOME=str(work / f"cache-s3-{name}")),
                                 repo, ok_codes=(0,))  # cwd = the checkout: `-m cloudsubmit` runs its code
            return dict(server.stats(), wall_s=wall, peak_rss_mb=rss)

        for name in ("empty", "full"):  # this machine's first look at each store (its view is then warm)
            upload(name, new_shot(work / f"s3-{name}", 5, 99))
        def peer(name: str) -> dict:
            server.reset()
            wall, rss = peak_rss([sys.executable, __file__, "--peer", f"s3://shots/{name}", str(args.files)], env,
                                 repo, ok_codes=(0,))
            return dict(server.stats(), wall_s=wall, peak_rss_mb=rss)

        out: dict = {"empty": [], "full": [], "peer_empty": [], "peer_full": []}
        for r in range(args.runs):
            for name in ("empty", "full"):
                out[name].append(upload(name, new_shot(work / f"s3-{name}", args.files, 100 + r)))
                out[f"peer_{name}"].append(peer(name))
    finally:
        server.stop()
    print(f"S3, new {args.files}-file shot (medians of {args.runs}):")
    for name, label in (("empty", "empty store"), ("full", f"store with {args.blobs} blobs"),
                        ("peer_empty", "boto3 peer, empty"), ("peer_full", f"boto3 peer, {args.blobs} blobs")):
        runs = out[name]
        gets = statistics.median(r["by_method"].get("GET", 0) for r in runs)
        heads = statistics.median(r["by_method"].get("HEAD", 0) for r in runs)
        print(f"  {label:<24} {median(runs, 'wall_s'):6.2f} s  {median(runs, 'requests'):7.0f} requests  "
              f"GET (listings) {gets:5.0f}  HEAD {heads:5.0f}  peak RSS {median(runs, 'peak_rss_mb'):4.0f} MB")
    ratio = median(out["full"], "wall_s") / median(out["empty"], "wall_s")
    moto = median(out["peer_full"], "wall_s") / median(out["peer_empty"], "wall_s")
    print(f"  cloudsubmit full / empty wall {ratio:.2f}; the boto3 peer's (moto's own growth) {moto:.2f}")
    print(f"  cloudsubmit's ratio / the peer's: ratio {ratio / moto:.2f} (target <= {LIMIT:.2f}) "
          f"{'OK' if ratio / moto <= LIMIT else 'ABOVE'}")


def dir_part(args, work: Path, repo: str) -> None:
    sys.path.insert(0, repo)
    from cloudsubmit.store.local import LocalBackend

    for name in ("empty", "full"):
        (work / f"store-{name}").mkdir()
    fill_index(LocalBackend(str(work / "store-full")), args.entries)
    env = dict(os.environ, PYTHONPATH=repo, CLOUDSUBMIT_USER_CONFIG=os.devnull)

    def upload(name: str, manifest: Path, machine: str = "") -> tuple:
        return peak_rss([sys.executable, "-m", "cloudsubmit", "--set",
                         f"store.hash_cache={work / f'machine-{machine or name}' / 'hashes.sqlite'}", "upload", "--store",
                         (work / f"store-{name}").as_uri(), "--manifest", str(manifest)], env, repo, ok_codes=(0,))

    shards = args.entries // SHARD_ENTRIES
    floor = look_floor(work / "store-full", env, repo)
    ingest = with_cpu(lambda: peak_rss([sys.executable, __file__, "--look", str(work / "store-full"),
                                        str(work / "machine-look")], env, repo, ok_codes=(0,)))
    empty = upload("empty", new_shot(work / "dir-empty", 10, 999))
    first = with_cpu(lambda: upload("full", new_shot(work / "dir-full", 10, 999)))
    print(f"directory store, {args.entries} index entries in {shards} shards: this machine's first look "
          f"{first[0]:.1f} s ({first[2]:.1f} s CPU), {first[1]:.0f} MB (once; the empty store's {empty[0]:.1f} s)")
    print(f"  the floor, same shards: read + gunzip + json.loads, nothing kept: {floor['wall_s']:.1f} s "
          f"({floor['cpu_s']:.1f} s CPU), {floor['peak_rss_mb']:.0f} MB (CPU: read {floor['read']:.1f} s, gunzip "
          f"{floor['gunzip']:.1f} s, parse {floor['parse']:.1f} s; validating every entry would add {floor['validate']:.1f} s)")
    print(f"  of the first look: the view's ingest alone {ingest[0]:.1f} s ({ingest[2]:.1f} s CPU), {ingest[1]:.0f} MB; "
          f"the rest is the upload's compaction of the {shards} shards")
    print(f"  first look / floor, wall: {verdict(first[0], floor['wall_s'], 2.0)}")
    print(f"  first look / floor, CPU (what a loaded machine cannot blur): {verdict(first[2], floor['cpu_s'], 2.0)}")
    print(f"  first look peak RSS / {RSS_LIMIT_MB} MB: {verdict(first[1], RSS_LIMIT_MB)}")
    snap_floor = look_floor(work / "store-full", env, repo)
    second = with_cpu(lambda: upload("full", new_shot(work / "dir-second", 10, 998), machine="second"))
    print(f"  a second machine's first look, at the compacted store (snapshots of up to 200,000 entries): "
          f"{second[0]:.1f} s ({second[2]:.1f} s CPU), {second[1]:.0f} MB; its floor {snap_floor['wall_s']:.1f} s "
          f"({snap_floor['cpu_s']:.1f} s CPU)")
    print(f"  second first look / floor, wall: {verdict(second[0], snap_floor['wall_s'], 2.0)}; "
          f"CPU: {verdict(second[2], snap_floor['cpu_s'], 2.0)}")
    print(f"  second first look peak RSS / {RSS_LIMIT_MB} MB: {verdict(second[1], RSS_LIMIT_MB)}")
    out = {"empty": [], "full": []}
    for r in range(args.runs):
        for name in ("empty", "full"):
            out[name].append(upload(name, new_shot(work / f"dir-{name}", args.files, 200 + r)))
    walls = {n: statistics.median(w for w, _ in out[n]) for n in out}
    rss = {n: statistics.median(m for _, m in out[n]) for n in out}
    print(f"  new {args.files}-file shot: empty store {walls['empty']:.2f} s {rss['empty']:.0f} MB, "
          f"{args.entries} entries {walls['full']:.2f} s {rss['full']:.0f} MB")
    ratio = walls["full"] / walls["empty"]
    print(f"  full / empty wall (median shot): ratio {ratio:.2f} (target <= {LIMIT:.2f}) {'OK' if ratio <= LIMIT else 'ABOVE'}")
    fold, every = fold_cost(work / "machine-full" / "index-shards", args.files)
    amortized = (walls["full"] + fold / every) / walls["empty"]
    print(f"  one shot in {every:.0f} also folds the view's new tier into the big one: +{fold:.2f} s at this size; "
          f"amortized ratio {amortized:.2f} (target <= {LIMIT:.2f}) {'OK' if amortized <= LIMIT else 'ABOVE'}")


def look_floor(store: Path, env: dict, repo: str) -> dict:
    """What a first look at ``store`` cannot avoid, in a child: read, gunzip and json.loads each
    shard, nothing kept (wall and peak RSS), with the CPU of each step, and of the validation
    every entry gets on the way in (not part of the floor: the reader must do it, the floor need not)."""
    out = store.parent / "floor.json"
    wall, rss, cpu = with_cpu(lambda: peak_rss([sys.executable, __file__, "--floor", str(store), str(out)], env, repo,
                                               ok_codes=(0,)))
    return dict(json.loads(out.read_text()), wall_s=wall, peak_rss_mb=rss, cpu_s=cpu)


def with_cpu(run) -> tuple:
    """``run()``'s (wall, peak RSS) and the CPU seconds (user + system) of the children it
    waited for: on a shared machine wall time also counts the neighbours' work."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, rss = run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, rss, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def floor_here(store: str, out: str) -> None:
    """The ``--floor`` child: each shard of ``store`` read, gunzipped and parsed, then dropped;
    the CPU of each step into the file ``out``."""
    import gzip
    import time

    from cloudsubmit.store.index import entry_problem

    cpu = {"read": 0.0, "gunzip": 0.0, "parse": 0.0, "validate": 0.0}
    for path in sorted((Path(store) / "index").glob("*.json.gz")):
        t0 = time.process_time()
        data = path.read_bytes()
        t1 = time.process_time()
        text = gzip.decompress(data)
        t2 = time.process_time()
        entries = json.loads(text)["entries"]
        t3 = time.process_time()
        del data, text
        for raw in entries:
            entry_problem(raw)
        t4 = time.process_time()
        for step, took in zip(cpu, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            cpu[step] += took
        del entries
    Path(out).write_text(json.dumps(cpu))


def look_here(store: str, machine: str) -> None:
    """The ``--look`` child: a first look (list, fetch, validate, ingest into a new view), nothing else."""
    from cloudsubmit.store.index import TeamIndex
    from cloudsubmit.store.local import LocalBackend

    index = TeamIndex(LocalBackend(store), Path(machine) / "index-shards").refresh()
    index.close()


def fold_cost(cache: Path, files: int) -> tuple:
    """Seconds of one fold of the full store's view (on a copy, its new tier topped up to the
    fold size with rows like a shot's), in a child, and how many ``files``-file shots pass
    between two folds."""
    (view,) = [p for p in cache.glob("*.sqlite")]
    copy = cache.parent / "fold-copy.sqlite"
    shutil.copyfile(view, copy)
    proc = subprocess.run([sys.executable, __file__, "--fold", str(copy)], capture_output=True, text=True, check=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    copy.unlink()
    seconds, rows = json.loads(proc.stdout)
    return seconds, rows / files


def fold_here(view_file: str) -> None:
    """The ``--fold`` child: top the view's tier 1 up to FOLD_ROWS, then time the fold and its commit."""
    import sqlite3
    import time

    from cloudsubmit.store import indexview

    db = sqlite3.connect(view_file, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    rng = random.Random(3)
    have = db.execute("SELECT COUNT(*) FROM hashes WHERE tier = 1").fetchone()[0]
    (url,) = db.execute("SELECT value FROM meta WHERE name = 'store'").fetchone()
    db.execute("BEGIN")
    db.executemany("INSERT INTO hashes (hash, size, shard) VALUES (?, ?, ?)",
                   ((f"{rng.getrandbits(128):032x}", 1000, 10 ** 9) for _ in range(indexview.FOLD_ROWS - have)))
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    os.sync()
    view = indexview.IndexView(Path(view_file), url)
    t0 = time.perf_counter()
    with view._write():
        view._fold()
    view.close()
    print(json.dumps([time.perf_counter() - t0, indexview.FOLD_ROWS]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=int(os.environ.get("BENCH_SHOT_FILES", 2000)))
    ap.add_argument("--blobs", type=int, default=int(os.environ.get("BENCH_SHOT_BLOBS", 14_000)))
    ap.add_argument("--entries", type=int, default=int(os.environ.get("BENCH_SHOT_ENTRIES", 1_000_000)))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=("s3", "dir"), help="run one part")
    ap.add_argument("--peer", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--fold", help=argparse.SUPPRESS)
    ap.add_argument("--floor", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--look", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--repo", default=str(REPO), help="the checkout whose cloudsubmit the commands run (to compare)")
    ap.add_argument("--cs-set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override for the S3 uploads, e.g. store.packs.max_file_kb=0 (every file its own blob)")
    args = ap.parse_args()
    if args.peer:
        peer_here(args.peer[0], int(args.peer[1]))
        return 0
    if args.fold:
        fold_here(args.fold)
        return 0
    if args.floor:
        floor_here(*args.floor)
        return 0
    if args.look:
        look_here(*args.look)
        return 0
    work = Path(tempfile.mkdtemp(prefix="cs-newshot-"))
    try:
        if args.only != "dir":
            s3_part(args, work, args.repo)
        if args.only != "s3":
            dir_part(args, work, args.repo)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
