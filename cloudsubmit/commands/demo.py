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
from typing import TYPE_CHECKING, Any, Dict, Optional

if TYPE_CHECKING:
    from ..config import Config

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
        # no jobs.output_dir: the images go where the scan says the scene renders them
    }


def _config(args: argparse.Namespace, work: Path) -> Any:
    from ..config import load_config, parse_override

    overrides = demo_settings(work)
    overrides.update(dict(parse_override(item) for item in getattr(args, "overrides", []) or []))
    return load_config(studio_file=getattr(args, "config", None), overrides=overrides)


def _result_json(bundle: Path, node: str) -> Dict[str, Any]:
    """What a finished node wrote about itself (``logs/<node>.result.json``); empty until then."""
    path = bundle / "logs" / f"{node}.result.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _upload_line(up: Dict[str, Any]) -> str:
    from .output import human_size

    skipped = up.get("skipped_files", 0)
    if not up.get("uploaded_bytes"):
        return f"0 bytes sent: all {skipped} files were already in the store"
    return (f"{up.get('uploaded_files', 0)} files, {human_size(up['uploaded_bytes'])} sent, "
            f"{skipped} already in the store")


class StageLines:
    """Progress callback printing one line per stage transition (inputs resolved, bundle
    written, each DAG stage's nodes finishing): the per-file and twice-a-second reports that
    drive the panel's bars are noise in a terminal log."""

    def __init__(self) -> None:
        self.bundle: Optional[Path] = None
        self.seen: Dict[str, tuple] = {}
        self.totals: Dict[str, int] = {}

    def __call__(self, rep: Any) -> None:
        if rep.stage == "write" and rep.total and rep.done == rep.total:
            self.bundle = Path(rep.message)
            self._written(self.bundle)
        elif rep.stage == "run" and self.bundle is not None:
            self._nodes(self.bundle)

    def _say(self, stage: str, text: str) -> None:
        print(f"{stage:<9}... {text}", flush=True)

    def _written(self, bundle: Path) -> None:
        from ..errors import CloudSubmitError
        from ..jobs.status import job_status
        from .output import human_size

        try:
            inputs = json.loads((bundle / "job.json").read_text(encoding="utf-8")).get("inputs", {})
        except (OSError, ValueError):
            inputs = {}
        if "to_upload_files" in inputs:
            self._say("resolve", f"{inputs['files']} files: {inputs['to_upload_files']} to upload "
                                 f"({human_size(inputs['to_upload_bytes'])}), {inputs['skipped_files']} "
                                 f"already in the store")
        self._say("bundle", f"written: {bundle}")
        try:
            self.totals = {k: c.total for k, c in job_status(str(bundle)).stages.items() if c.total}
        except CloudSubmitError:
            self.totals = {}

    def _nodes(self, bundle: Path) -> None:
        """Counts from the nodes' own result files: the status file is rewritten only on the
        runner's next tick, so it lags the report that announces a finished node."""
        counts: Dict[str, list] = {}
        for path in sorted((bundle / "logs").glob("*.result.json")):
            res = _result_json(bundle, path.name[: -len(".result.json")])
            tally = counts.setdefault(res.get("stage", "?"), [0, 0])
            tally[0 if res.get("exit_code") == 0 else 1] += 1
        for stage, total in self.totals.items():
            done, failed = counts.get(stage, [0, 0])
            if self.seen.get(stage, (0, 0)) != (done, failed):
                self.seen[stage] = (done, failed)
                self._say(stage, self._stage_text(bundle, stage, done, failed, total))

    def _stage_text(self, bundle: Path, stage: str, done: int, failed: int, total: int) -> str:
        if failed:
            return f"{done}/{total} nodes done, {failed} failed (see {bundle / 'logs'})"
        if stage == "render" or done < total:
            return f"{done}/{total} nodes done"
        if stage == "upload":
            return f"done ({_upload_line(_result_json(bundle, 'upload'))})"
        if stage == "download":
            got = _result_json(bundle, "download")
            return f"done: {got.get('files', 0)} images into {', '.join(got.get('targets', []))}"
        return "done"


def _report(result: Any, cfg: Config, work: Path) -> int:
    bundle = Path(result.bundle)
    up = _result_json(bundle, "upload")
    out = Path((result.output_dirs or [cfg["jobs"]["output_dir"]])[0])
    images = sorted(out.glob("*.png"))
    state = (result.local or {}).get("state", "?")
    print(f"\njob:      {result.job_id} ({state})")
    print(f"bundle:   {bundle}")
    print(f"store:    {cfg['store']['url']}")
    print(f"uploaded: {up.get('uploaded_files', 0)} files, {up.get('uploaded_bytes', 0)} bytes "
          f"({up.get('skipped_files', 0)} already in the store)")
    if up and not up.get("uploaded_bytes"):
        print("          nothing uploaded: every file was already in the store from an earlier run")
    print(f"images:   {out} ({len(images)} files)")
    for img in images:
        print(f"          {img.name}")
    print(f"\nthe demo keeps its job list in {work / 'jobs.jsonl'}; query it with")
    print(f"  cloudsubmit status {bundle}")
    print(f"  cloudsubmit --set jobs.registry={work / 'jobs.jsonl'} jobs")
    if state != "done":
        print(f"see {bundle / 'logs'} and `cloudsubmit status {bundle}`", file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    from ..api import SubmitOptions, submit_scene
    from ..scan import scan_scene
    from .output import write
    from .scan import format_table

    work = Path(args.work_dir).resolve()
    scene = copy_example(str(work))
    cfg = _config(args, work)
    deps = scan_scene(str(scene), config=cfg)
    write(format_table(deps))
    if args.scan_only or deps.missing:
        return 1 if deps.missing else 0
    print(f"\nstore:    {cfg['store']['url']} (the demo's own; a studio sets store.url)", flush=True)
    result = submit_scene(str(scene), SubmitOptions(), cfg, dependencies=deps, progress=StageLines())
    return _report(result, cfg, work)
