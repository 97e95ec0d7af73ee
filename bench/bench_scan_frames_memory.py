"""Scan and submit memory against the frame range, in the same run: a 2,000-texture Maya shot
scanned and submitted (dry run, a file store) at ``--frames 1-10`` and at ``1-10000``.

    python bench/bench_scan_frames_memory.py [--textures 2000] [--frames 10000] [--runs 3]

A texture that is not a sequence is the same file at 10 frames and at 20,000, so memory must
grow with the files found, not with references x frames. Each command runs in a fresh child
process; its peak RSS (the whole process, interpreter included) is read from ``wait4``.
Targets: ``submit --frames 1-10000`` <= 100 MB; the long range costs <= 1.25x the short one."""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from _benchlib import cloudsubmit_child, median_runs, verdict

REPO = Path(__file__).resolve().parent.parent
LIMIT_MB = 100


def make_shot(root: Path, textures: int) -> Path:
    """A project with ``textures`` file nodes: plain textures and, one in ten, UDIM sets."""
    root.mkdir(parents=True)
    (root / "workspace.mel").write_text('workspace -fr "sourceImages" "sourceimages";\n', encoding="utf-8")
    lines = ["//Maya ASCII 2023 scene", 'requires maya "2023";']
    for i in range(textures):
        folder = root / "sourceimages" / f"asset_{i // 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        lines.append(f'createNode file -n "file{i}";')
        if i % 10 == 0:
            for tile in (1001, 1002):
                (folder / f"tex_{i:05d}.{tile}.exr").write_bytes(b"x")
            rel = f"sourceimages/asset_{i // 100:02d}/tex_{i:05d}.1001.exr"
            lines += [f'\tsetAttr ".ftn" -type "string" "{rel}";', '\tsetAttr ".uvt" 3;']
        else:
            (folder / f"tex_{i:05d}.tx").write_bytes(b"x")
            lines.append(f'\tsetAttr ".ftn" -type "string" "sourceimages/asset_{i // 100:02d}/tex_{i:05d}.tx";')
    lines += ['select -ne :defaultRenderGlobals;', '\tsetAttr ".ren" -type "string" "arnold";']
    scene = root / "scenes" / "shot.ma"
    scene.parent.mkdir(parents=True)
    scene.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return scene


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--textures", type=int, default=int(os.environ.get("BENCH_TEXTURES", 2000)))
    ap.add_argument("--frames", type=int, default=int(os.environ.get("BENCH_FRAMES", 10000)))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cs-framesbench-"))
    try:
        scene = make_shot(work / "shot", args.textures)
        (work / "store").mkdir()
        env = dict(os.environ, PYTHONPATH=str(REPO), CLOUDSUBMIT_USER_CONFIG=str(work / "none.yaml"))
        sets = ["--set", f"store.url={(work / 'store').as_uri()}",
                "--set", f"store.hash_cache={work / 'cache' / 'hashes.sqlite'}",
                "--set", f"jobs.registry={work / 'jobs.jsonl'}"]
        short, long_ = "1-10", f"1-{args.frames}"
        rows = {}
        for cmd in ("scan", "submit"):
            for spec in (short, long_):
                extra = ["--dry-run", "--scheduler", "local", "--bundle-dir"] if cmd == "submit" else []

                def run(r: int, cmd=cmd, spec=spec, extra=extra):
                    bundle = [str(work / f"bundle-{cmd}-{spec}-{r}")] if extra else []
                    return cloudsubmit_child([*sets, cmd, str(scene), "--frames", spec, *extra, *bundle], env, str(REPO))

                rows[cmd, spec] = median_runs(run, args.runs)[1]
        for cmd in ("scan", "submit"):
            a, b = rows[cmd, short], rows[cmd, long_]
            print(f"{cmd} of {args.textures} textures: --frames {short} {a:.0f} MB, --frames {long_} {b:.0f} MB peak RSS: "
                  f"{verdict(b, a, 1.25)}")
        top = rows["submit", long_]
        print(f"submit --frames {long_}: {top:.0f} MB against a limit of {LIMIT_MB} MB: {verdict(top, LIMIT_MB)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
