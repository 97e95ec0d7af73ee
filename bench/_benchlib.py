"""What the bench scripts share: a generated-scene bench's command line, its measuring child
process, a child command's own peak RSS, and the report loop of the command benches (each case
run ``--runs`` times in fresh children, medians, one ratio line against its limit). Not a bench
itself (``make bench`` runs bench_*.py).

Peak RSS is each process's own: a child's ``ru_maxrss`` on Linux starts from the peak of the
process that spawned it (exec keeps the replaced memory's high-water mark), so commands are
started from the small launcher in tests/support/peakrss.py, and a measuring child reads its own
``VmHWM``, not ``RUSAGE_SELF``."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Dict, List, Sequence, Tuple


def _peakrss() -> ModuleType:
    """tests/support/peakrss.py, the launcher the memory tests use too (one measuring method)."""
    tests = str(Path(__file__).resolve().parent.parent / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from support import peakrss

    return peakrss


def scene_bench_args(description: str, env_prefix: str) -> argparse.Namespace:
    """``--mb``/``--file-nodes`` (defaults from ``<env_prefix>_MB``/``_FILE_NODES``), ``--runs``,
    ``--dir``, ``--keep``, and the hidden ``--measure``/``--mode`` of the child process."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--mb", type=int, default=int(os.environ.get(f"{env_prefix}_MB", 200)))
    ap.add_argument("--file-nodes", type=int, default=int(os.environ.get(f"{env_prefix}_FILE_NODES", 100_000)))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", help="parent folder for the generated scene (default: system temp)")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--instructions", action="store_true",
                    help="count each mode's instructions once under valgrind (callgrind) instead of timing --runs runs")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="read", help=argparse.SUPPRESS)
    return ap.parse_args()


def figures(scene: Path, found: str, wall0: float, cpu0: float) -> dict:
    """What one ``--measure`` run prints: the file's size, what it found, wall and CPU seconds
    since ``wall0``/``cpu0`` and this process's own peak RSS (``VmHWM``: ``RUSAGE_SELF`` would
    also count the bench parent's pages it was spawned from), the same keys for every scan bench."""
    return {"bytes": os.path.getsize(scene), "found": found, "wall_s": time.perf_counter() - wall0,
            "cpu_s": time.process_time() - cpu0, "peak_rss_mb": own_peak_mb()}


def own_peak_mb() -> float:
    """This process's own peak RSS in MB (``VmHWM``; ``ru_maxrss`` where /proc is absent)."""
    peakrss = _peakrss()
    kb = peakrss.own_hwm_kb()
    if not kb:
        import resource

        kb = peakrss.rusage_kb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return kb / 1024


def measured_runs(script: str, scene: Path, modes: Sequence[str], runs: int) -> Dict[str, List[dict]]:
    """Each mode ``runs`` times, each in a fresh ``script --measure`` child (its own peak RSS),
    the modes interleaved so a noisy neighbour slows them alike."""
    out: Dict[str, List[dict]] = {m: [] for m in modes}
    for _ in range(runs):
        for mode in modes:
            proc = subprocess.run([sys.executable, script, "--measure", str(scene), "--mode", mode],
                                  capture_output=True, text=True, check=True)
            out[mode].append(json.loads(proc.stdout))
    return out


def instruction_counts(script: str, scene: Path, modes: Sequence[str]) -> Dict[str, dict]:
    """Each mode once in a fresh ``script --measure`` child under valgrind's callgrind: its figures
    with ``instructions``, the count less that of a ``startup`` child (interpreter, imports, tables:
    what every mode does before its clock). Instruction counts do not move with the machine's load,
    where the CPU-second ratios of the same two modes swing 0.2-0.4 on a shared 2-core machine. The
    children hash strings with one fixed seed: with a random one, a mode's count moved by ~5%
    between runs (the startup child's too), and the ratios by ~0.03."""
    import shutil

    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind on PATH (apt-get install valgrind)")
    env = dict(os.environ, PYTHONHASHSEED="0")
    out: Dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("startup", *modes):
            trace = os.path.join(tmp, f"{mode}.callgrind")
            proc = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={trace}", sys.executable,
                                   script, "--measure", str(scene), "--mode", mode],
                                  capture_output=True, text=True, check=True, env=env)
            out[mode] = json.loads(proc.stdout)
            with open(trace, encoding="utf-8") as fh:
                out[mode]["instructions"] = next(int(line.split()[1]) for line in fh
                                                 if line.startswith(("summary:", "totals:")))
    base = out.pop("startup")["instructions"]
    for record in out.values():
        record["instructions"] -= base
    return out


def mode_costs(script: str, scene: Path, modes: Sequence[str], args: argparse.Namespace
               ) -> Tuple[Dict[str, List[dict]], Dict[str, float]]:
    """Each mode's figures and its cost, the figure the ratios divide: median CPU seconds of
    ``--runs`` timed children, or with ``--instructions`` its instruction count."""
    if args.instructions:
        runs = {mode: [r] for mode, r in instruction_counts(script, scene, modes).items()}
        return runs, {mode: rs[0]["instructions"] for mode, rs in runs.items()}
    import statistics

    runs = measured_runs(script, scene, modes, args.runs)
    return runs, {mode: statistics.median(r["cpu_s"] for r in rs) for mode, rs in runs.items()}


def cost_text(cost: float, record: dict, args: argparse.Namespace) -> str:
    """One mode's cost as :func:`mode_costs` measured it, with its throughput."""
    if args.instructions:
        return f"{cost / 1e6:.0f} M instructions ({cost / record['bytes']:.1f} per byte)"
    return f"{cost:.2f} s CPU: {record['bytes'] / 1e6 / cost:.0f} MB/s per CPU second (median of {args.runs})"


def per_node_text(cost: float, args: argparse.Namespace) -> str:
    """A cost difference spread over the scene's ``--file-nodes``: instructions or CPU microseconds."""
    each = cost / max(1, args.file_nodes)
    return f"{each / 1e3:.1f}k instructions" if args.instructions else f"{each * 1e6:.1f} us CPU"


def child_run(argv: Sequence[str], env: Dict[str, str], cwd: str, ok_codes=(0, 1)) -> Any:
    """Run ``argv`` from the launcher: its wall seconds, its own peak RSS (MB) and, beside it,
    the inherited figure the benches printed before (``inherited_mb``; with ``BENCH_SHOW_INHERITED=1``
    in the environment both go to stderr for every child, to compare in one run). Exits the bench
    with the command's stderr tail when its exit code is not in ``ok_codes``."""
    with tempfile.TemporaryFile() as err:
        got = _peakrss().run_measured(list(argv), env=env, cwd=cwd, stderr=err)
        if got.code not in ok_codes:
            err.seek(0)
            raise SystemExit(f"{' '.join(argv)} exited {got.code}: {err.read().decode(errors='replace').strip()[-500:]}")
    if os.environ.get("BENCH_SHOW_INHERITED") == "1":
        print(f"  peak RSS {got.peak_mb:.0f} MB own, {got.inherited_mb:.0f} MB as spawned (before: wait4 of the "
              f"command itself): {' '.join(map(str, argv))[:160]}", file=sys.stderr, flush=True)
    return got


def peak_rss(argv: Sequence[str], env: Dict[str, str], cwd: str, ok_codes=(0, 1)) -> Tuple[float, float]:
    """Run ``argv``; its wall seconds and its own peak RSS in MB (see :func:`child_run`)."""
    got = child_run(argv, env, cwd, ok_codes)
    return got.wall_s, got.peak_mb


def cloudsubmit_setting(key: str, env: Dict[str, str], overrides: Sequence[str] = ()) -> Any:
    """``key`` as a ``cloudsubmit`` child run with ``env`` and ``--set`` ``overrides`` sees it
    (the package's own layering and ``--set`` parsing, so a bench never reads it another way)."""
    repo = str(Path(__file__).resolve().parent.parent)
    if repo not in sys.path:
        sys.path.insert(0, repo)
    from cloudsubmit.config import load_config, parse_override

    return load_config(env=env, overrides=dict(map(parse_override, overrides))).get(key)


def cloudsubmit_child(argv: Sequence[str], env: Dict[str, str], cwd: str) -> Tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``python -m cloudsubmit argv`` in a fresh child process."""
    return peak_rss([sys.executable, "-m", "cloudsubmit", *argv], env, cwd)


def median_runs(run: Callable[[int], Tuple[float, float]], runs: int) -> Tuple[float, float]:
    """``run(i)`` for i in range(runs) (each one fresh child): the median wall seconds and the
    median peak RSS (MB), so one slow run on a shared machine does not decide the figure."""
    import statistics

    got = [run(i) for i in range(runs)]
    return statistics.median(w for w, _ in got), statistics.median(r for _, r in got)


def verdict(value: float, limit: float, target: float = 1.0) -> str:
    """``ratio 0.42  (target <= 1.00) OK``: every bench line ends with its ratio and the verdict."""
    ratio = value / limit
    return f"ratio {ratio:.2f}  (target <= {target:.2f}) {'OK' if ratio <= target else 'ABOVE'}"
