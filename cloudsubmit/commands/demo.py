"""`cloudsubmit demo --work-dir DIR`: copy the bundled example shot into DIR and scan it.

A fresh clone proves itself with one command and no studio data: the example has a reference,
UDIM tiles, an image sequence longer than the shot and a path with spaces. The scan runs on the
copy, so the printed paths are the user's own and the package folder is never written."""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "demo_shot"
SCENE = "scenes/shot010_lighting.ma"


def register(sub) -> None:
    """Add ``demo`` to the CLI parser."""
    p = sub.add_parser("demo", help="scan the bundled example shot (no studio data needed)")
    p.add_argument("--work-dir", metavar="DIR", default="work/demo", help="where the example is copied (default: work/demo)")
    p.set_defaults(func=run)


def copy_example(work_dir: str) -> Path:
    """A fresh copy of the example shot under ``work_dir``; returns the copied scene."""
    target = Path(work_dir).resolve() / "demo_shot"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(EXAMPLE, target)
    return target / SCENE


def run(args: argparse.Namespace) -> int:
    from ..cli import load_cli_config
    from ..scan import scan_scene
    from .scan import _write, format_table

    scene = copy_example(args.work_dir)
    result = scan_scene(str(scene), config=load_cli_config(args))
    _write(format_table(result))
    return 1 if result.missing else 0
