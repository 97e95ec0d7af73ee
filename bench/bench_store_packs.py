"""100,000 small files (1-4 KB): cloudsubmit's packs against `aws s3 sync`, on one moto server.

Runs, in one go and against the same counting server (bench_store_s3's: requests, request-body
bytes, file-content bytes, ranged GETs): cloudsubmit's first upload and `aws s3 sync`'s of the
same folder; a teammate's copy of it under another path (must send 0 content bytes); a render
node materialising a few files of the shot (ranged GETs of a few KB, not whole packs); and a node
materialising the whole shot (one read per pack). Targets (issue 13): the first upload in <= 500
requests and <= 0.2x `aws s3 sync`'s wall time. Memory (each command's own peak RSS, see
bench/_benchlib.py): the first upload's against `aws s3 sync`'s, and what it holds beyond an upload
of one file (interpreter, libraries, one pack block: what does not grow) against
``store.s3.upload_memory_mb``, split into what a `resolve` of the same files on a fresh machine
holds (its record per file) and the upload's own part, all in the same run.
Usage: python bench/bench_store_packs.py [--files 100000] [--few 12] [--workdir DIR]"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

from _benchlib import child_run, cloudsubmit_setting, peak_rss
from bench_store_s3 import REPO, Server


def make_files(root: Path, count: int) -> list:
    """``count`` files of 1-4 KB, 1,000 to a folder, each with its own content."""
    rng = random.Random(13)
    paths = []
    for i in range(count):
        p = root / f"assets/d{i // 1000:03d}/leaf{i:06d}.rat"
        if i % 1000 == 0:
            p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rng.randbytes(rng.randint(1024, 4096)))
        paths.append(str(p))
    return paths


def measure(server: Server, argv: list, env: dict) -> dict:
    server.reset()
    run = child_run(argv, env, str(REPO), ok_codes=(0,))
    s = server.stats()
    got = {"wall_s": round(run.wall_s, 2), "requests": s["requests"], "mb_in": round(s["bytes_in"] / 1e6, 2),
           "content_mb_in": round(s["content_bytes_in"] / 1e6, 2), "range_gets": s["range_gets"],
           "range_kb": round(s["range_bytes"] / 1e3, 1), "peak_rss_mb": round(run.peak_mb),
           "inherited_rss_mb": round(run.inherited_mb)}
    print(f"{' '.join(argv[:4])} ...: {got}", file=sys.stderr, flush=True)  # a long run shows what it has so far
    return got


def publish(url: str, env: dict, job: str, paths: list, work: Path) -> None:
    """Write a job's inputs manifest the way the upload stage does (the files are in the store),
    in a child process: the node runs' peak RSS must not inherit this process's."""
    listing = work / f"{job}.files.json"
    listing.write_text(json.dumps(paths))
    peak_rss([sys.executable, __file__, "--publish", url, job, str(listing)], env, str(REPO), ok_codes=(0,))


def publish_here(url: str, cache: str, job: str, paths: list) -> None:
    from cloudsubmit.config import load_config
    from cloudsubmit.store import open_store, resolve
    from cloudsubmit.store.manifest import inputs_manifest, write_inputs

    store = open_store(url, load_config(overrides={"store.hash_cache": cache + "/publish.sqlite"}))
    try:
        res = resolve(paths, store)
        assert not res.to_upload, "publish: files not in the store"
        write_inputs(store.backend, inputs_manifest(job, res.files, locate=store.index.location))
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=int(os.environ.get("BENCH_PACKS_FILES", 100_000)))
    ap.add_argument("--few", type=int, default=12, help="files a node materialises in the ranged-GET run")
    ap.add_argument("--workdir", default=None, help="where the files are written (default: a temp dir)")
    ap.add_argument("--publish", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.publish:
        url, job, listing = args.publish
        publish_here(url, os.environ["XDG_CACHE_HOME"], job, json.loads(Path(listing).read_text()))
        return
    work = Path(args.workdir or tempfile.mkdtemp(prefix="cs-bench-packs-"))
    src, copy = work / "artist_a" / "shot020", work / "artist_b" / "shot020_copy"
    files = make_files(src, args.files)
    shutil.copytree(src, copy)
    copies = [p.replace(str(src), str(copy), 1) for p in files]
    for name, paths in (("a", files), ("b", copies), ("one", files[:1])):
        (work / f"{name}.json").write_text(json.dumps({"files": paths}))
    server = Server()
    try:
        env = server.tool_env()
        s3 = server.client("cs-packs", "sync-packs")
        url = "s3://cs-packs/team"
        cs = [sys.executable, "-m", "cloudsubmit"]
        machine = {n: dict(env, XDG_CACHE_HOME=str(work / f"cache_{n}")) for n in ("a", "b", "r", "one", "node", "node2")}
        aws = str(Path(sys.executable).with_name("aws"))
        out = {"files": len(files), "bytes": sum(os.path.getsize(p) for p in files),
               "upload_memory_mb": int(cloudsubmit_setting("store.s3.upload_memory_mb", env))}
        out["cloudsubmit_one_file"] = measure(server, cs + ["upload", "--store", "s3://cs-packs/one", "--json",
                                                            "--manifest", str(work / "one.json")], machine["one"])
        out["cloudsubmit_resolve"] = measure(server, cs + ["resolve", "--store", url, "--manifest",
                                                           str(work / "a.json")], machine["r"])
        out["cloudsubmit_first"] = measure(server, cs + ["upload", "--store", url, "--json", "--manifest",
                                                         str(work / "a.json")], machine["a"])
        out["aws_s3_sync_first"] = measure(server, [aws, "s3", "sync", str(src), "s3://sync-packs/shot020"], env)
        out["cloudsubmit_teammate"] = measure(server, cs + ["upload", "--store", url, "--json", "--manifest",
                                                            str(work / "b.json")], machine["b"])
        few = random.Random(5).sample(files, min(args.few, len(files)))
        publish(url, machine["a"], "few", few, work)
        publish(url, machine["a"], "whole", files, work)
        node = cs + ["materialise", "--store", url, "--json"]
        out["node_few_files"] = measure(server, node + ["few", "--session", str(work / "s_few"), "--cache",
                                                        str(work / "nc_few")], machine["node"])
        out["node_whole_shot"] = measure(server, node + ["whole", "--session", str(work / "s_all"), "--cache",
                                                         str(work / "nc_all")], machine["node2"])
        out["packs"] = sum(1 for page in s3.get_paginator("list_objects_v2").paginate(Bucket="cs-packs",
                                                                                      Prefix="team/packs/")
                           for _ in page.get("Contents", ()))
    finally:
        server.stop()
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    report(out, args.few)


def report(out: dict, few: int) -> None:
    print(json.dumps(out, indent=2))
    print(f"\n{out['files']} files, {out['bytes'] / 1e6:.1f} MB, {out['packs']} packs")
    print(f"{'run':<22}{'wall s':>8}{'requests':>10}{'MB in':>8}{'content MB':>12}{'range GETs':>12}{'range KB':>10}"
          f"{'peak RSS MB':>13}")
    for name in ("cloudsubmit_one_file", "cloudsubmit_resolve", "cloudsubmit_first", "aws_s3_sync_first", "cloudsubmit_teammate",
                 "node_few_files", "node_whole_shot"):
        r = out[name]
        print(f"{name:<22}{r['wall_s']:>8}{r['requests']:>10}{r['mb_in']:>8}{r['content_mb_in']:>12}"
              f"{r['range_gets']:>12}{r['range_kb']:>10}{r['peak_rss_mb']:>13}")
    ours, peer = out["cloudsubmit_first"], out["aws_s3_sync_first"]
    ratio = ours["wall_s"] / peer["wall_s"]
    print(f"first upload wall: cloudsubmit {ours['wall_s']} s, aws s3 sync {peer['wall_s']} s: ratio {ratio:.3f} "
          f"(target <= 0.2) {'OK' if ratio <= 0.2 else 'ABOVE'}")
    print(f"first upload requests: {ours['requests']} (target <= 500) {'OK' if ours['requests'] <= 500 else 'ABOVE'}")
    rss, peer_rss = ours["peak_rss_mb"], peer["peak_rss_mb"]
    print(f"first upload peak RSS: cloudsubmit {rss} MB, aws s3 sync {peer_rss} MB: ratio {rss / peer_rss:.2f} "
          f"(teammate {out['cloudsubmit_teammate']['peak_rss_mb']} MB)")
    print(f"  as measured before (each command's own wait4, which starts from this bench's peak): cloudsubmit "
          f"{ours['inherited_rss_mb']} MB, aws s3 sync {peer['inherited_rss_mb']} MB")
    limit, one = out["upload_memory_mb"], out["cloudsubmit_one_file"]["peak_rss_mb"]
    grown, held = rss - one, out["cloudsubmit_resolve"]["peak_rss_mb"] - one
    print(f"first upload beyond an upload of one file (what grows with the file count): {grown} MB, "
          f"store.s3.upload_memory_mb {limit} MB: ratio {grown / limit:.2f} (target <= 1.0) "
          f"{'OK' if grown <= limit else 'ABOVE'}")
    print(f"  of which a resolve of the same files holds {held} MB (a record per file: path, logical path, hash, "
          f"stat); the upload's own part: {grown - held} MB, ratio {(grown - held) / limit:.2f}")
    mate = out["cloudsubmit_teammate"]["content_mb_in"]
    print(f"teammate's copy: {mate} MB of file content sent (target 0) {'OK' if mate == 0 else 'ABOVE'}")
    node = out["node_few_files"]
    print(f"node needing {few} files: {node['range_gets']} ranged GETs, {node['range_kb']} KB read "
          f"(whole shot: {out['node_whole_shot']['requests']} requests)")


if __name__ == "__main__":
    main()
