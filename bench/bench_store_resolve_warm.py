"""Warm ``resolve`` of a large shot against its limits, in the same run: 100,000 small files
already in a directory store, resolved again as ``cloudsubmit resolve --manifest`` by

- the machine that sent them (its hash cache answers),
- a teammate whose local index view is warm but who never resolved the shot (each run a fresh
  hash cache: every claim is probed, three 4 KiB windows per file),
- the same teammate again (the claims its probes confirmed are in its hash cache: nothing read),
- both of those with ``--json`` (one entry per file, streamed).

    python bench/bench_store_resolve_warm.py [--files 100000] [--runs 3] [--repo CHECKOUT]

Each run is a fresh child process: wall seconds and peak RSS (whole process, from ``wait4``),
medians of ``--runs``. Limits: <= 2 s and <= 200 MB. The floor is a child that reads the same
manifest and stats every file (the least a resolve can do), run before each measured run, so each
figure is also printed as a multiple of the floor measured beside it (on a loaded machine the
floor moves with the load; the multiple does not). The children compile their modules once into a
bytecode folder of the run, as an installed package has them."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Callable, Dict, List

from _benchlib import cloudsubmit_child, median_runs, peak_rss, verdict

REPO = Path(__file__).resolve().parent.parent
LIMIT_S, LIMIT_MB = 2.0, 200
FLOOR = "import json, os, sys\nfor p in json.load(open(sys.argv[1]))['files']:\n    os.stat(p)\n"


def make_files(root: Path, n: int) -> List[str]:
    paths = []
    for i in range(n):
        d = root / f"asset_{i // 1000:03d}"
        if i % 1000 == 0:
            d.mkdir(parents=True)
        p = d / f"tex_{i:06d}.tx"
        p.write_bytes(b"%06d" % i * 50)
        paths.append(str(p))
    return paths


def child_env(repo: str, work: Path) -> Dict[str, str]:
    env = dict(os.environ, PYTHONPATH=repo, CLOUDSUBMIT_USER_CONFIG=os.devnull,
               PYTHONPYCACHEPREFIX=str(work / "bytecode"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def fresh_teammate(work: Path, i: int) -> str:
    """A copy of the teammate's warm cache folder (its index view) without its hash cache."""
    name = f"b-first-{i}"
    shutil.copytree(work / "b-view", work / name)
    for suffix in ("", "-wal", "-shm"):
        (work / name / f"hashes.sqlite{suffix}").unlink(missing_ok=True)
    return name


def report(label: str, run: Callable[[int], tuple], floor: Callable[[], float], runs: int) -> None:
    floors: List[float] = []

    def measured(i: int) -> tuple:
        floors.append(floor())
        return run(i)

    wall, rss = median_runs(measured, runs)
    low = statistics.median(floors)
    print(f"warm resolve, {label}: {wall:.2f} s, {rss:.0f} MB peak RSS; time {verdict(wall, LIMIT_S)}; "
          f"memory {verdict(rss, LIMIT_MB)}; {wall / low:.1f}x the stat floor ({low:.2f} s beside it)")


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
        env = child_env(args.repo, work)

        def resolve(who: str, *extra: str) -> tuple:
            return cloudsubmit_child(["--set", f"store.hash_cache={work / who / 'hashes.sqlite'}", "resolve",
                                      "--store", (work / "store").as_uri(), "--manifest", str(manifest), *extra],
                                     env, args.repo)

        def floor() -> float:
            return peak_rss([sys.executable, "-c", FLOOR, str(manifest)], env, args.repo)[0]

        cloudsubmit_child(["--set", f"store.hash_cache={work / 'a' / 'hashes.sqlite'}", "upload", "--store",
                           (work / "store").as_uri(), "--manifest", str(manifest)], env, args.repo)
        resolve("b-view")  # the teammate's first look: its index view ingests the shards
        resolve("b")
        print(f"{args.files} files in the store")
        report("sender (hash cache)", lambda i: resolve("a"), floor, args.runs)
        report("teammate, first run (probes)", lambda i: resolve(fresh_teammate(work, i)), floor, args.runs)
        report("teammate, second run (confirmed claims)", lambda i: resolve("b"), floor, args.runs)
        report("sender, --json", lambda i: resolve("a", "--json"), floor, args.runs)
        report("teammate second run, --json", lambda i: resolve("b", "--json"), floor, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
