"""What every stage shares: loading the job from its bundle, the node's config, and exit codes
DAGMan can act on.

Exit codes: 0 done; 1 failed, worth a retry (network, store, a renderer crash); 3 failed for good
(missing inputs, a broken bundle): the DAG's ``RETRY ... UNLESS-EXIT 3`` does not retry it and
``ABORT-DAG-ON upload 3`` stops the whole DAG, so no cloud node starts for a job that cannot run."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence

from ..errors import EXIT_BAD_INPUT, CloudSubmitError, ConfigError
from ..frames import compact
from ..jobs.bundle import ABORT_EXIT, load_job
from ..jobs.plan import JobPlan, PlanNode

if TYPE_CHECKING:
    from ..config import Config

EXIT_OK = 0
EXIT_RETRY = 1
EXIT_ABORT = ABORT_EXIT


@dataclass
class StageContext:
    job: Dict[str, Any]
    plan: JobPlan
    node: PlanNode
    bundle: Optional[Path]        # the bundle directory when this machine sees it, else None
    config: Config
    workdir: Path                 # where the stage may write (the job's scratch dir on a pool)

    @property
    def store_url(self) -> str:
        return str(self.job.get("store") or "")

    def bundle_file(self, name: str) -> Optional[Path]:
        """A bundle file: in the bundle, or transferred beside job.json into the scratch dir."""
        return _bundle_file(self.bundle, name)

    def output_dirs(self) -> List[str]:
        """The folders the renders write, as the submitter declared them."""
        if self.plan.output_dir:
            return [self.plan.output_dir]
        dirs = [str(d) for d in self.job.get("output_dirs") or []]
        if not dirs:
            raise ConfigError(f"job {self.plan.job_id}: no output folder (set jobs.output_dir)")
        return dirs

    def log(self, message: str) -> None:
        """One timestamped line on stderr, which HTCondor keeps in ``logs/<node>.err``."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        print(f"[{stamp}] {self.node.name}: {message}", file=sys.stderr, flush=True)


def _bundle_file(bundle: Optional[Path], name: str) -> Optional[Path]:
    for base in (bundle, Path(os.getcwd())):
        if base is not None and (base / name).is_file():
            return base / name
    return None


def _config_from_snapshot(path: Optional[Path]) -> Config:
    """The config the job was submitted with (the bundle's snapshot), so every node of one job
    renders with the same settings even if the studio file changes meanwhile."""
    from ..config import Config, load_config

    if path is None:
        return load_config()
    data = json.loads(path.read_text(encoding="utf-8"))
    return Config(data, [str(path)])


def load_context(ref: str, node_name: str) -> StageContext:
    job = load_job(ref)
    p = Path(os.path.abspath(ref))
    bundle = p if p.is_dir() else (p.parent if (p.parent / "job.dag").is_file() else None)
    workdir = Path(os.getcwd()) if bundle is None else bundle / "work" / node_name
    plan = JobPlan.from_dict(job["plan"])
    node = plan.node(node_name)
    return StageContext(job, plan, node, bundle, _config_from_snapshot(_bundle_file(bundle, "config.json")), workdir)


def write_result(ctx: StageContext, result: Dict[str, Any]) -> None:
    """``<node>.result.json``: in the bundle's logs when visible, else in the scratch dir, from
    where HTCondor brings it back with the job's output."""
    target = (ctx.bundle / "logs") if ctx.bundle is not None else ctx.workdir
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / f".{ctx.node.name}.result.json.tmp"
    tmp.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, target / f"{ctx.node.name}.result.json")


def _early_result(node_name: str, stage: str, message: str) -> None:
    """A result file even when the bundle could not be read, so the submit side sees why; only
    inside an HTCondor job's scratch directory (whence HTCondor sends new files back)."""
    if os.environ.get("_CONDOR_SCRATCH_DIR") and re.match(r"^[A-Za-z0-9_-]+$", node_name or ""):
        try:
            Path(f"{node_name}.result.json").write_text(json.dumps({"stage": stage, "error": message}))
        except OSError:
            pass


def scene_tokens(ctx: StageContext, scene: str, frames: Sequence[int]) -> Dict[str, str]:
    """The command tokens a render and a post command share (``{scene}``, ``{scene_dir}``,
    ``{scene_name}``, ``{frames}``, ``{job_id}``, ``{node}``); each stage adds its own."""
    return {"scene": scene, "scene_dir": str(Path(scene).parent), "scene_name": Path(scene).stem,
            "frames": compact(frames), "job_id": ctx.plan.job_id, "node": ctx.node.name}


def run_command(ctx: StageContext, argv: List[str], env: Mapping[str, str], scene: str) -> None:
    """Run one renderer or post command in the scene's folder (the node's scratch folder when
    this machine does not see it), logged; a command that cannot start or exits non-zero fails
    the stage with one line."""
    folder = Path(scene).parent
    ctx.log("running " + " ".join(argv))
    try:
        code = subprocess.call(argv, env=dict(env), cwd=str(folder if folder.is_dir() else ctx.workdir),
                               stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise CloudSubmitError(f"cannot start {argv[0]}: {exc.strerror or exc}") from None
    if code != 0:
        raise CloudSubmitError(f"{argv[0]} exited with {code}")


def run_stage(stage: str, ref: str, node_name: str, body: Callable[[StageContext], Dict[str, Any]]) -> int:
    """Run ``body`` and turn its outcome into an exit code DAGMan understands."""
    try:
        ctx = load_context(ref, node_name)
    except CloudSubmitError as exc:
        print(f"cloudsubmit stage {stage}: {exc.message}", file=sys.stderr)
        _early_result(node_name, stage, exc.message)
        return EXIT_ABORT
    if ctx.node.stage != stage:
        print(f"cloudsubmit stage {stage}: node {node_name} is a {ctx.node.stage} node", file=sys.stderr)
        return EXIT_ABORT
    start = time.time()
    ctx.log(f"{stage} started (job {ctx.plan.job_id})")
    try:
        result = body(ctx)
        code = EXIT_OK
    except CloudSubmitError as exc:
        ctx.log(f"{stage} failed: {exc.message}")
        result = {"error": exc.message}
        code = EXIT_ABORT if exc.exit_code == EXIT_BAD_INPUT else EXIT_RETRY
    except OSError as exc:
        ctx.log(f"{stage} failed: {exc}")
        result, code = {"error": str(exc)}, EXIT_RETRY
    result.update({"node": ctx.node.name, "stage": stage, "exit_code": code, "seconds": round(time.time() - start, 3)})
    write_result(ctx, result)
    ctx.log(f"{stage} {'done' if code == 0 else 'failed'} in {result['seconds']} s")
    return code


def mapping_rules(ctx: StageContext, extra: List[Any]) -> List[Any]:
    """Path-mapping rules for this node: the materialised roots first, then ``paths.mapping``."""
    rules = [(str(a), str(b)) for a, b in extra]
    for rule in ctx.config.get("paths.mapping", []) or []:
        if isinstance(rule, dict) and rule.get("from") and rule.get("to"):
            rules.append((str(rule["from"]), str(rule["to"])))
    return rules
