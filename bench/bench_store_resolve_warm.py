"""Warm ``resolve`` of a large shot against its limits, in the same run: 100,000 small files
already in a directory store, resolved again by the machine that sent them (its hash cache) and
by a teammate (the team index), as ``cloudsubmit resolve --manifest`` and ``--json``.

    python bench/bench_store_resolve_warm.py [--files 100000] [--runs 3]

Each run is a fresh child process: wall seconds and peak RSS (whole process, from ``wait4``),
medians of ``--runs``. Limits: <= 2 s and <= 200 MB. A stat of every file (the least a resolve
can do, in the same run) is printed beside them as the floor, and each figure as a multiple of it
(on a loaded machine the floor moves with the load; the multiple does not).

    python bench/bench_store_resolve_warm.py [--files 100000] [--runs 3] [--repo CHECKOUT]"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _benchlib import peak_rss

REPO = Path(__file__).resolve().parent.parent
LIMIT_S, LIMIT_MB = 2.0, 200


def make_files(root: Path, n: int) -> list:
    paths = []
    for i in range(n):
        d = root / f"asset_{i // 1000:03d}"
        if i % 1000 == 0:
            d.mkdir(parents=True)
        p = d / f"tex_{i:06d}.tx"
        p.write_bytes(b"%06d" % i * 50)
        paths.append(str(p))
    return paths


def child(argv, env) -> tuple:
    """Wall seconds and peak RSS (MB) of ``python -m cloudsubmit argv``."""
    return peak_rss([sys.executable, "-m", "cloudsubmit", *argv], env, env["PYTHONPATH"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=int(os.environ.get("BENCH_RESOLVE_FILES", 100_000)))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--repo", default=str(REPO), help="the checkout whose cloudsubmit the commands run (to compare)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cs-resolvebench-"))
    try:
        paths = make_files(work / "shot", args.files)
        manifest = work / "files.json"
        manifest.write_text(json.dumps({"files": paths}), encoding="utf-8")
        (work / "store").mkdir()
        env = dict(os.environ, PYTHONPATH=args.repo, CLOUDSUBMIT_USER_CONFIG=os.devnull)
        store = ["--store", (work / "store").as_uri()]

        def machine(name: str) -> list:
            return ["--set", f"store.hash_cache={work / name / 'hashes.sqlite'}"]

        child([*machine("a"), "upload", *store, "--manifest", str(manifest)], env)
        child([*machine("b"), "resolve", *store, "--manifest", str(manifest)], env)  # b's first look fills its index cache
        t0 = time.perf_counter()
        for p in paths:
            os.stat(p)
        floor = time.perf_counter() - t0
        print(f"{args.files} files in the store; a stat of every file takes {floor:.2f} s in this process")
        for label, who, extra in (("sender, hash cache", "a", []), ("teammate, team index", "b", []),
                                  ("teammate, --json", "b", ["--json"])):
            runs = [child([*machine(who), "resolve", *store, "--manifest", str(manifest), *extra], env)
                    for _ in range(args.runs)]
            wall = statistics.median(r[0] for r in runs)
            rss = statistics.median(r[1] for r in runs)
            ok = wall <= LIMIT_S and rss <= LIMIT_MB
            print(f"warm resolve ({label}): {wall:.2f} s, {rss:.0f} MB peak RSS: ratio {wall / LIMIT_S:.2f} of {LIMIT_S:.0f} s, "
                  f"{rss / LIMIT_MB:.2f} of {LIMIT_MB} MB  (target <= 1.00 both) {'OK' if ok else 'ABOVE'}; "
                  f"{wall / floor:.1f}x the stat floor")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
