"""`cloudsubmit demo --work-dir DIR`: the whole chain on one machine, with no studio data.

The bundled example shot is copied into DIR and scanned; its files are resolved against an
embedded ``file://`` store under DIR; a job bundle is written; the local scheduler runs the same
DAG a pool would: upload -> a stand-in renderer that writes one real PNG per frame on the "cloud"
side (inputs materialised from the store, outputs uploaded back) -> download into the shot's
images folder. A second run uploads 0 bytes: the store already has every file.

The copy keeps files that are already there (so their mtimes, and the hash cache, stay valid);
the scan runs on the copy, so printed paths are the user's own and the package is never written."""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any, Dict

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "demo_shot"
SCENE = "scenes/shot010_lighting.ma"


def register(sub) -> None:
    """Add ``demo`` to the CLI parser."""
    p = sub.add_parser("demo", help="scan, upload, render and download the bundled example shot on this machine")
    p.add_argument("--work-dir", metavar="DIR", default="work/demo", help="where everything goes (default: work/demo)")
    p.add_argument("--scan-only", action="store_true", help="only copy and scan the example")
    p.set_defaults(func=run)


def copy_example(work_dir: str) -> Path:
    """The example shot under ``work_dir`` (missing files copied, present ones left alone)."""
    target = Path(work_dir).resolve() / "demo_shot"
    for src in sorted(EXAMPLE.rglob("*")):
        dest = target / src.relative_to(EXAMPLE)
        if src.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
        elif not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
    return target / SCENE


def demo_settings(work: Path) -> Dict[str, Any]:
    """Everything the demo writes stays under ``work``: store, caches, bundles, job list."""
    (work / "store").mkdir(parents=True, exist_ok=True)
    return {
        "store.url": "file://" + (work / "store").as_posix(),
        "store.hash_cache": str(work / "cache" / "hashes.sqlite"),
        "store.transfer.node_cache": str(work / "node-cache"),
        "jobs.bundle_root": str(work / "jobs"),
        "jobs.registry": str(work / "jobs.jsonl"),
        "jobs.renderer": "demo",
        "jobs.scheduler": "local",
        "jobs.chunk": 2,
        "jobs.output_dir": str(work / "demo_shot" / "images" / "demo"),
    }


def _config(args: argparse.Namespace, work: Path) -> Any:
    from ..config import load_config, parse_override

    overrides = demo_settings(work)
    overrides.update(dict(parse_override(item) for item in getattr(args, "overrides", []) or []))
    return load_config(studio_file=getattr(args, "config", None), overrides=overrides)


def _report(result: Any, cfg: Any) -> int:
    bundle = Path(result.bundle)
    up_file = bundle / "logs" / "upload.result.json"
    up = json.loads(up_file.read_text(encoding="utf-8")) if up_file.is_file() else {}
    out = Path(cfg["jobs"]["output_dir"])
    images = sorted(out.glob("*.png"))
    state = (result.local or {}).get("state", "?")
    print(f"\njob:      {result.job_id} ({state})")
    print(f"bundle:   {bundle}")
    print(f"uploaded: {up.get('uploaded_files', 0)} files, {up.get('uploaded_bytes', 0)} bytes "
          f"({up.get('skipped_files', 0)} already in the store)")
    print(f"images:   {out} ({len(images)} files)")
    for img in images:
        print(f"          {img.name}")
    if state != "done":
        print(f"see {bundle / 'logs'} and `cloudsubmit status {bundle}`", file=sys.stderr)
        return 1
    return 0


def _store_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None
               for m in ("cloudsubmit.store.resolve", "cloudsubmit.store.outputs", "cloudsubmit.store.materialise"))


def run(args: argparse.Namespace) -> int:
    from ..api import submit_scene
    from ..scan import scan_scene
    from .scan import _write, format_table

    work = Path(args.work_dir).resolve()
    scene = copy_example(str(work))
    cfg = _config(args, work)
    deps = scan_scene(str(scene), config=cfg)
    _write(format_table(deps))
    if args.scan_only or deps.missing:
        return 1 if deps.missing else 0
    if not _store_available():
        print("\n(the store is not part of this checkout yet: scanned only)")
        return 0

    def show(rep) -> None:
        if rep.stage in ("run", "write", "resolve"):
            total = f"/{rep.total}" if rep.total else ""
            print(f"  {rep.stage}: {rep.done}{total} {rep.message}", file=sys.stderr)

    result = submit_scene(str(scene), None, cfg, dependencies=deps, progress=show)
    return _report(result, cfg)
