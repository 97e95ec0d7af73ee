"""Plan + write bundle for 10,000 frames in chunks of 10 (1,000 render nodes): target < 1 s.
Submit from a scene with 10,000 dependencies and a warm hash cache up to a written bundle:
target < 2 s (needs the store; skipped with a note when it is not installed).

    python bench/bench_plan.py"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cloudsubmit.config import load_config  # noqa: E402
from cloudsubmit.jobs.bundle import write_bundle  # noqa: E402
from cloudsubmit.jobs.plan import make_plan  # noqa: E402

WORK = Path(__file__).resolve().parent.parent / "work" / "bench"


def bench_plan(cfg) -> None:
    best = None
    for i in range(5):
        t0 = time.perf_counter()
        plan = make_plan(str(WORK / "shot" / "scene.ma"), range(1, 10001), cfg, chunk=10)
        t1 = time.perf_counter()
        bundle = write_bundle(plan, cfg, str(WORK / f"bundle-{i}"))
        t2 = time.perf_counter()
        shutil.rmtree(bundle.path)
        best = min(best or (9e9, 0, 0), (t2 - t0, t1 - t0, t2 - t1))
    total, p, w = best
    print(f"plan+bundle, 10,000 frames / chunk 10 ({len(plan.render_nodes)} render nodes): "
          f"{total * 1000:.0f} ms (plan {p * 1000:.0f} ms, write {w * 1000:.0f} ms)  target < 1000 ms  "
          f"{'OK' if total < 1 else 'SLOW'}")


def _scene_with_deps(n: int) -> Path:
    """A Maya ASCII scene with ``n`` file nodes, each reading its own texture on disk."""
    src = WORK / "deps"
    scene = WORK / "shot" / "scene_10k.ma"
    if scene.is_file():
        return scene
    lines = ["//Maya ASCII 2023 scene", 'requires maya "2023";']
    for i in range(n):
        p = src / f"d{i // 1000:02d}" / f"tex_{i:05d}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"%d" % i)
        lines.append(f'createNode file -n "file{i}";')
        lines.append(f'\tsetAttr ".ftn" -type "string" "{p.as_posix()}";')
    scene.parent.mkdir(parents=True, exist_ok=True)
    scene.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return scene


def bench_submit(cfg_overrides) -> None:
    try:
        from cloudsubmit.store import resolve  # noqa: F401
    except ImportError:
        print("submit with 10,000 dependencies: skipped (store not installed in this checkout)")
        return
    from cloudsubmit.api import SubmitOptions, submit_scene

    scene = _scene_with_deps(10000)
    cfg = load_config(overrides=cfg_overrides)
    times, deps = [], 0
    for i in range(3):  # the first run hashes everything (cold cache); dry run: nothing uploaded
        t0 = time.perf_counter()
        r = submit_scene(str(scene), SubmitOptions(frames="1-100", dry_run=True, bundle_dir=str(WORK / f"submit-{i}")), cfg)
        times.append(time.perf_counter() - t0)
        deps = r.inputs.get("files", 0)
        shutil.rmtree(r.bundle)
    print(f"submit, scene with {deps} dependencies, warm hash cache: scan+resolve+plan+bundle "
          f"{times[-1] * 1000:.0f} ms (cold {times[0] * 1000:.0f} ms)  target < 2000 ms  "
          f"{'OK' if times[-1] < 2 else 'SLOW'}")


def main() -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    overrides = {"store.url": "file://" + str(WORK / "store"), "store.hash_cache": str(WORK / "cache" / "hashes.sqlite"),
                 "jobs.registry": str(WORK / "jobs.jsonl")}
    (WORK / "store").mkdir(exist_ok=True)
    cfg = load_config(overrides=overrides)
    bench_plan(cfg)
    bench_submit(overrides)
    return 0


if __name__ == "__main__":
    sys.exit(main())
