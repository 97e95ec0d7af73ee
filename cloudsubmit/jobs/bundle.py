"""Write a :class:`~cloudsubmit.jobs.plan.JobPlan` to a job bundle directory.

A bundle is everything needed to run, resubmit and inspect one job::

    <bundle>/job.dag          the DAG (one node per upload/render chunk/download/post stage)
    <bundle>/<stage>.sub      one submit description per stage; node values come from VARS
    <bundle>/job.json         the plan, the store URL and the inputs manifest reference (machine)
    <bundle>/summary.txt      the same for a human
    <bundle>/config.json      the resolved config (credential-like keys dropped)
    <bundle>/input_paths.json the scene's input files, which the upload stage resolves and sends
    <bundle>/logs/            node stdout/stderr/user logs and stage logs

The default root is beside the scene (``<scene dir>/cloudsubmit/jobs/<job-id>``): the studio file
server, which the local execute nodes see, and never ``/tmp`` (DAGMan refuses node logs there).
The directory is built under a temporary name in the same parent and renamed into place, so a
reader never sees half a bundle."""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .. import __version__
from ..errors import ConfigError, SubmitError
from ..progress import ProgressCallback, ProgressReport, report
from ..storekeys import inputs_key
from . import condor as C
from .plan import JobPlan, PlanNode
from .tables import pool_profile

if TYPE_CHECKING:
    from ..config import Config

DAG_NAME = "job.dag"
STATUS_NAME = "node_status.txt"
JOBSTATE_NAME = "jobstate.log"
JOB_FORMAT = 1          # job.json's "version": a node refuses a bundle of a format it does not know
INPUT_PATHS_NAME = "input_paths.json"   # the path list; the store's manifest is jobs/<id>/inputs.json
ABORT_EXIT = 3          # a stage's "do not retry, stop the DAG" exit code
# What DAGMan exits with after ABORT-DAG-ON: 0-2 only. Its own job's on_exit_remove keeps a DAGMan
# that exits with anything else in the queue and starts it again, so "RETURN 3" looped forever.
ABORT_DAG_RETURN = 1


@dataclass
class Bundle:
    path: Path
    job_id: str

    @property
    def dag(self) -> Path:
        return self.path / DAG_NAME

    def to_dict(self) -> Dict[str, str]:
        return {"job_id": self.job_id, "bundle": str(self.path), "dag": str(self.dag)}


def default_bundle_root(scene: str, config: Config) -> Path:
    """``jobs.bundle_root``, else beside the scene: ``<scene dir>/cloudsubmit/jobs``, or beside the
    nearest folder above it whose path DAGMan reads literally (a shot folder named ``shot $(id)``
    cannot hold a DAG, see :func:`condor.dagman_reads_literally`); the job's output folders stay
    the shot's own whatever they are called."""
    root = config["jobs"]["bundle_root"]
    if root:
        return Path(os.path.expanduser(root))
    base = Path(os.path.abspath(scene)).parent
    while not C.dagman_reads_literally(str(base)) and base.parent != base:
        base = base.parent
    return base / "cloudsubmit" / "jobs"


def bundle_path(plan: JobPlan, config: Config, bundle_dir: Optional[str] = None, *,
                root: Optional[str] = None) -> Path:
    """Where the bundle of ``plan`` goes: ``bundle_dir`` (the bundle itself), else
    ``<root>/<job id>``, where ``root`` (``submit --bundle-dir``) is a parent folder like
    ``jobs.bundle_root`` so one folder serves every submission."""
    if bundle_dir:
        final = Path(bundle_dir)
    else:
        final = (Path(root) if root else default_bundle_root(plan.scene, config)) / plan.job_id
    return Path(os.path.abspath(final))


def launcher(config: Config, executable: Optional[str] = None) -> List[str]:
    """The argv prefix that runs cloudsubmit on a node: ``jobs.launcher``, else this Python. Inside
    Maya or Houdini ``sys.executable`` is the application itself, so there the installed
    ``cloudsubmit`` script (or mayapy, which needs no licence) is used instead."""
    cmd = list(config["jobs"]["launcher"])
    if cmd:
        return cmd
    exe = executable if executable is not None else (sys.executable or "")
    name = os.path.basename(exe).lower()
    if name.startswith(("python", "mayapy")):
        return [exe, "-m", "cloudsubmit"]
    found = shutil.which("cloudsubmit")
    if found:
        return [found]
    raise ConfigError(f"cannot tell which program runs cloudsubmit on the render nodes (this process is "
                      f"{exe or 'unknown'}); set jobs.launcher, e.g. [/opt/cloudsubmit/bin/python, -m, cloudsubmit]")


def stage_file(node: PlanNode) -> str:
    return f"post_{node.post}.sub" if node.stage == "post" else f"{node.stage}.sub"


def placement_pairs(profile: Mapping[str, Any], where: str) -> List[Tuple[str, str]]:
    what = f"pool profile {where}"
    pairs = [
        ("request_cpus", C.submit_value(str(profile.get("request_cpus", 1)), f"{what}.request_cpus")),
        ("request_memory", C.submit_value(str(profile.get("request_memory", "2GB")), f"{what}.request_memory")),
        ("should_transfer_files", C.submit_value(str(profile.get("should_transfer_files", "NO")),
                                                 f"{what}.should_transfer_files")),
    ]
    req = str(profile.get("requirements") or "").strip()
    if req:
        pairs.append(("requirements", C.escape_macros(C.check_line(req, f"{what}.requirements"), what)))
    for name, value in (profile.get("attributes") or {}).items():
        pairs.append((f"MY.{C.attr_name(name, what)}", C.classad_literal(value, f"{what}.attributes.{name}")))
    for name, value in (profile.get("submit") or {}).items():
        pairs.append((C.attr_name(name, f"{what}.submit"), C.submit_value(str(value), f"{what}.submit.{name}")))
    return pairs


def submit_text(plan: JobPlan, node: PlanNode, bundle: Path, config: Config) -> str:
    """The ``.sub`` for ``node``'s stage; every node of the stage shares it via ``$(node)``."""
    profile = pool_profile(config, node.place)
    transfer = str(profile.get("should_transfer_files", "NO")).upper() != "NO"
    where = f"{stage_file(node)}"
    ref = "job.json" if transfer else str(bundle)
    cmd = launcher(config)
    args = cmd[1:] + ["stage", node.stage, ref, "--node", C.Macro("node")]
    logs = C.submit_value(str(bundle / "logs"), f"{where} logs")
    pairs: List[Tuple[str, str]] = [
        ("universe", "vanilla"),
        ("executable", C.submit_value(cmd[0], f"{where} executable")),
        ("transfer_executable", "false"),
        ("arguments", C.submit_arguments(args, f"{where} arguments")),
        ("initialdir", C.submit_value(str(bundle), f"{where} initialdir")),
        ("log", f"{logs}/$(node).log"),
        ("output", f"{logs}/$(node).out"),
        ("error", f"{logs}/$(node).err"),
        ("environment", C.submit_environment({"CLOUDSUBMIT_JOB": plan.job_id, "CLOUDSUBMIT_PLACE": node.place},
                                             f"{where} environment")),
        ("batch_name", C.submit_value(plan.name.strip() or plan.job_id, f"{where} batch_name")),
        ("priority", str(int(plan.priority))),
        ("MY.CloudSubmitJob", C.classad_string(plan.job_id, "job id")),
        ("MY.CloudSubmitStage", C.classad_string(node.stage, "stage")),
        ("MY.CloudSubmitPlace", C.classad_string(node.place, "place")),
        ("MY.CloudSubmitScene", C.classad_string(plan.scene, "scene")),
    ]
    pairs.extend(placement_pairs(profile, f"{config['jobs']['pool']}.{node.place}"))
    if transfer:
        pairs.append(("when_to_transfer_output", "ON_EXIT"))
        names = ["job.json", "config.json"] + ([INPUT_PATHS_NAME] if node.stage == "upload" else [])
        # Names relative to initialdir (the bundle): a bundle folder with spaces in its path can
        # never be split into two list items, whatever the pool's HTCondor version does.
        pairs.append(("transfer_input_files", ", ".join(C.submit_list_item(n, f"{where} inputs") for n in names)))
        # No transfer_output_files: HTCondor brings back new top-level files only (the stage's
        # <node>.result.json), never subfolders (the session, the frames: those go via the store),
        # and a node that died early is not held for a missing output file.
    header = f"# cloudsubmit job {plan.job_id}: stage {node.stage} ({node.place})\n"
    return header + C.submit_lines(pairs) + "queue\n"


def dag_text(plan: JobPlan, config: Config) -> str:
    """The DAG, written line by line (``MAXJOBS`` included, which htcondor2.dags gets wrong)."""
    jobs = config["jobs"]
    lines = [f"# cloudsubmit job {plan.job_id}", f"# scene {json.dumps(plan.scene, ensure_ascii=True)}"]
    for n in plan.nodes:
        name = C.node_name(n.name)
        lines.append(f"JOB {name} {C.dag_token(stage_file(n), 'submit file')}")
        lines.append(C.vars_line(name, {"node": C.vars_argument(name, f"VARS {name} node")}))
        if n.retry:
            lines.append(f"RETRY {name} {int(n.retry)} UNLESS-EXIT {ABORT_EXIT}")
        if n.category:
            lines.append(f"CATEGORY {name} {C.attr_name(n.category, 'category')}")
    if any(n.stage == "upload" for n in plan.nodes):
        lines.append(f"ABORT-DAG-ON upload {ABORT_EXIT} RETURN {ABORT_DAG_RETURN}")
    lines.extend(_edges(plan.nodes))
    if int(jobs["max_transfers"]) > 0:
        lines.append(f"MAXJOBS transfer {int(jobs['max_transfers'])}")
    if int(jobs["max_renders"]) > 0:
        lines.append(f"MAXJOBS render {int(jobs['max_renders'])}")
    lines.append(f"NODE_STATUS_FILE {STATUS_NAME} {int(jobs['node_status_interval'])}")
    lines.append(f"JOBSTATE_LOG {JOBSTATE_NAME}")
    if jobs["dot"]:
        lines.append("DOT job.dot")
    return "\n".join(lines) + "\n"


def _edges(nodes: Sequence[PlanNode]) -> List[str]:
    """Group children by identical parent lists so 1,000 chunks cost one PARENT line, not 1,000."""
    groups: Dict[Tuple[str, ...], List[str]] = {}
    for n in nodes:
        if n.parents:
            groups.setdefault(tuple(n.parents), []).append(n.name)
    return [f"PARENT {' '.join(p)} CHILD {' '.join(c)}" for p, c in groups.items()]


def clean_config(data: Any) -> Any:
    """``data`` with anything credential-like removed (a key named like a secret, at any depth)."""
    from ..config import without_secrets

    return without_secrets(data)


def summary_text(plan: JobPlan, bundle: Path, store_url: str, inputs: Optional[Mapping[str, Any]]) -> str:
    """The bundle for a person: only the stages this job has (a local render has no upload or
    download), and "Written", which is true of an exported bundle as of a submitted one."""
    from ..frames import compact
    from ..units import human_size

    renders = plan.render_nodes
    stages = list(dict.fromkeys(n.post or n.stage for n in plan.nodes))
    lines = [
        f"Job        {plan.job_id}",
        f"Scene      {plan.scene}",
        f"Frames     {compact(plan.frames)} ({len(plan.frames)} frames, chunks of {plan.chunk})",
        f"Renderer   {plan.renderer}",
        "Stages     " + ", ".join(f"{s}={plan.place.get(s, 'local')}" for s in stages),
        f"Nodes      {len(plan.nodes)} ({len(renders)} render" + (", scout frames first)" if plan.scout else ")"),
        f"Store      {store_url or '(none: the render runs here)'}",
        f"Bundle     {bundle}",
        f"Written    {plan.created} by {plan.user or 'unknown'}",
    ]
    if inputs and "to_upload_files" in inputs:
        lines.append(f"Inputs     {inputs.get('files', 0)} files, {inputs.get('to_upload_files', 0)} to upload "
                     f"({human_size(inputs.get('to_upload_bytes', 0))})")
    elif inputs:
        lines.append(f"Inputs     {inputs.get('files', 0)} files (not checked against the store)")
    return "\n".join(lines) + "\n"


def _files(plan: JobPlan, bundle: Path, config: Config, store_url: str,
           inputs: Optional[Mapping[str, Any]], output_dirs: Sequence[str]) -> Dict[str, str]:
    subs: Dict[str, str] = {}
    for n in plan.nodes:
        if stage_file(n) not in subs:
            subs[stage_file(n)] = submit_text(plan, n, bundle, config)
    job = {"version": JOB_FORMAT, "written_by": f"cloudsubmit {__version__}", "job_id": plan.job_id,
           "bundle": str(bundle), "store": store_url, "inputs_manifest": inputs_key(plan.job_id), "inputs": dict(inputs or {}),
           "output_dirs": list(output_dirs), "launcher": launcher(config), "plan": plan.to_dict()}
    files = dict(subs)
    files[DAG_NAME] = dag_text(plan, config)
    files["job.json"] = json.dumps(clean_config(job), indent=1, ensure_ascii=False)
    files["config.json"] = json.dumps(clean_config(config.snapshot()), indent=1, ensure_ascii=False)
    files["summary.txt"] = summary_text(plan, bundle, store_url, inputs)
    return files


def write_bundle(plan: JobPlan, config: Config, bundle_dir: Optional[str] = None, *, store_url: str = "",
                 inputs: Optional[Mapping[str, Any]] = None, manifest: Optional[Mapping[str, Any]] = None,
                 output_dirs: Sequence[str] = (), progress: Optional[ProgressCallback] = None) -> Bundle:
    """Write the bundle atomically and return it. ``bundle_dir`` is the bundle itself; by default
    it is ``<bundle root>/<job id>``. ``manifest`` is the job's list of input files (written as
    ``input_paths.json`` for the upload stage; not the store's ``inputs.json`` manifest); ``output_dirs`` are the folders the renders write."""
    final = bundle_path(plan, config, bundle_dir)
    if final.exists():
        raise SubmitError(f"{final}: a job bundle already exists there", exit_code=2)
    files = _files(plan, final, config, store_url, inputs, output_dirs)
    if manifest is not None:
        files[INPUT_PATHS_NAME] = json.dumps(manifest, ensure_ascii=False)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=str(final.parent)))
    except OSError as exc:
        raise ConfigError(f"{final.parent}: cannot create the job bundle here ({exc.strerror}); "
                          "set jobs.bundle_root or --bundle-dir") from None
    try:
        (tmp / "logs").mkdir()
        for i, (name, text) in enumerate(sorted(files.items())):
            report(progress, ProgressReport("write", i, len(files), message=name))
            (tmp / name).write_text(text, encoding="utf-8")
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    report(progress, ProgressReport("write", len(files), len(files), message=str(final)))
    return Bundle(final, plan.job_id)


def load_job(ref: str) -> Dict[str, Any]:
    """``job.json`` of a bundle given as its directory or the file itself; a job written in a
    format this cloudsubmit does not know is refused by name (a node with an older install)."""
    p = Path(ref)
    path = p / "job.json" if p.is_dir() else p
    try:
        job = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SubmitError(f"{ref}: not a job bundle (no job.json)", exit_code=2) from None
    except (OSError, ValueError) as exc:
        raise SubmitError(f"{path}: unreadable job file ({exc})", exit_code=2) from None
    version = job.get("version") if isinstance(job, dict) else None
    if version != JOB_FORMAT:
        by = job.get("written_by", "an unknown cloudsubmit") if isinstance(job, dict) else "an unknown cloudsubmit"
        raise SubmitError(f"{path}: job format {version!r} (written by {by}); this is cloudsubmit {__version__}, "
                          f"which reads format {JOB_FORMAT}: install the same cloudsubmit on the nodes "
                          "(jobs.launcher) as on the workstation", exit_code=2)
    return job
