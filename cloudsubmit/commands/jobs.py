"""``cloudsubmit submit | resubmit | status | cancel | jobs | stage``: jobs from the command line.

Thin: parse, call :mod:`cloudsubmit.api` / :mod:`cloudsubmit.jobs`, print. ``--json`` prints one
object on stdout and nothing else there."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..vocabulary import STAGE_KINDS
from .output import add_progress_flag, emit, end_progress, progress_printer, write, write_json

if TYPE_CHECKING:
    from ..config import Config



def register(sub) -> None:
    p = sub.add_parser("submit", help="scan a scene, write its job bundle and submit the DAG")
    p.add_argument("scene")
    p.add_argument("--frames", help="frame spec, e.g. 1-100 or 1-100x5 (default: the scene's range)")
    p.add_argument("--chunk", type=int, help="frames per render node (default jobs.chunk)")
    p.add_argument("--place", action="append", default=[], metavar="STAGE=local|cloud",
                   help="where a stage runs, e.g. --place render=local (repeatable)")
    p.add_argument("--renderer", help="renderer kind from renderers.yaml (default: by extension)")
    p.add_argument("--project", metavar="DIR",
                   help="Maya project root (default: nearest folder above the scene with workspace.mel)")
    p.add_argument("--layer", metavar="NAME", action="append", default=[],
                   help="render layer (Maya) or ROP (Houdini); repeat it, or give 'all', for one group of render "
                        "nodes per layer, each with its own frame range unless --frames is given")
    p.add_argument("--camera", metavar="NAME", action="append", default=[],
                   help="camera to render through; repeat it for one group of render nodes per camera")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="renderer template token, e.g. --option camera=shotCam (repeatable)")
    p.add_argument("--input", action="append", default=[], metavar="PATH",
                   help="an extra file or folder the render needs that the scene does not name (repeatable)")
    p.add_argument("--scout", action="store_true", default=None, help="render first/middle/last frames first")
    p.add_argument("--output-dir", default="", help="where the images end up (default: the scene's output folders)")
    p.add_argument("--name", default="", help="job name shown in condor_q (default: the job id)")
    p.add_argument("--priority", type=int, default=None, help="HTCondor job priority of the nodes (default 0)")
    p.add_argument("--preset", metavar="NAME",
                   help="start from a named preset (see `cloudsubmit presets`); the other flags override it")
    p.add_argument("--bundle-dir", metavar="DIR",
                   help="parent folder of the job bundle: it is written to DIR/<job id> "
                        "(default: jobs.bundle_root, else <scene folder>/cloudsubmit/jobs)")
    p.add_argument("--scheduler", choices=("htcondor", "local"), help="default jobs.scheduler")
    p.add_argument("--store", help="store URL (default store.url)")
    p.add_argument("--allow-missing", "--skip-missing", dest="allow_missing", action="store_true",
                   help="submit even though some files the scene names are missing (they are left out; "
                        "--skip-missing is the same)")
    p.add_argument("--dry-run", action="store_true", help="write the bundle and stop")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_progress_flag(p)
    p.set_defaults(func=run_submit)

    p = sub.add_parser("resubmit", help="run what is left of a job: submit its bundle again, DAGMan resumes "
                                        "from its rescue DAG (finished nodes do not run again)")
    p.add_argument("job", help="job id or bundle directory")
    p.add_argument("--scheduler", choices=("htcondor", "local"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_resubmit)

    p = sub.add_parser("status", help="per-stage progress of a job (exit 1 if it failed)")
    p.add_argument("job", help="job id or bundle directory")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_status)

    p = sub.add_parser("cancel", help="remove a job's DAG and its node jobs from the pool (resubmit runs what is left)")
    p.add_argument("job", help="job id or bundle directory")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_cancel)

    p = sub.add_parser("jobs", help="list submitted jobs with their state")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_jobs)

    p = sub.add_parser("stage", help="(run by DAG nodes) one stage of a job")
    p.add_argument("stage", choices=STAGE_KINDS)
    p.add_argument("bundle", help="bundle directory or its job.json")
    p.add_argument("--node", required=True, help="the DAG node name")
    p.set_defaults(func=run_stage_command)


def _pairs(items, flag: str) -> dict:
    from ..errors import ConfigError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} {item}: expected KEY=VALUE")
        out[key.strip()] = value
    return out


def _grouped(args: argparse.Namespace) -> bool:
    """Several layers or cameras (or ``--layer all``): one group of render nodes each."""
    return len(args.layer) > 1 or len(args.camera) > 1 or args.layer == ["all"]


def _render_options(args: argparse.Namespace) -> dict:
    """``--option`` pairs, with one ``--layer``/``--camera`` and ``--project`` as the tokens they
    stand for (several layers or cameras become render groups instead); the same token given
    twice two ways is bad input rather than a silent pick."""
    from ..api import layer_token
    from ..errors import ConfigError

    options = _pairs(args.option, "--option")
    grouped = _grouped(args)
    single = {"layer": None if grouped or not args.layer else args.layer[0],
              "camera": None if grouped or not args.camera else args.camera[0], "project": args.project}
    for flag, token in (("--layer", layer_token(args.scene)), ("--camera", "camera"), ("--project", "project")):
        value = single[flag[2:]]
        if value is None:
            continue
        if token in options and options[token] != value:
            raise ConfigError(f"{flag} {value} and --option {token}={options[token]} disagree; give one")
        options[token] = value
    return options


def run_submit(args: argparse.Namespace) -> int:
    from ..api import SubmitOptions, submit_scene
    from ..cli import load_cli_config
    from ..jobs.plan import parse_place

    cfg = load_cli_config(args)
    grouped = _grouped(args)
    preset = _preset(args, cfg)
    options = SubmitOptions(
        frames=args.frames or preset.get("frames"), chunk=_given(args.chunk, preset.get("chunk")),
        place=dict(preset.get("place") or {}, **parse_place(args.place)), renderer=args.renderer or preset.get("renderer"),
        render_options=dict(preset.get("render_options") or {}, **_render_options(args)),
        scout=_given(args.scout, preset.get("scout")), post=preset.get("post"), project=args.project,
        layers=list(args.layer) if grouped else [], cameras=list(args.camera) if grouped else [],
        output_dir=args.output_dir, bundle_dir=args.bundle_dir, scheduler=args.scheduler or preset.get("scheduler"),
        store_url=args.store, dry_run=args.dry_run, inputs=list(args.input), name=args.name,
        priority=_given(args.priority, preset.get("priority")) or 0, allow_missing=args.allow_missing,
    )
    result = submit_scene(args.scene, options, cfg, scan=_live_scanner(args, cfg), progress=progress_printer(args))
    end_progress(args)
    out = result.to_dict()
    if not args.json:
        for warning in out["warnings"]:
            print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        write_json(out)
    else:
        write(f"job {out['job_id']}\nbundle {out['bundle']}")
        if "cluster" in out:
            write(f"submitted to HTCondor: DAGMan cluster {out['cluster']}")
        elif "local" in out:
            write(f"ran locally: {out['local']['state']}")
        else:
            write("dry run: bundle written, nothing submitted")
        write(_frames_line(out))
    return _exit(out)


def _preset(args: argparse.Namespace, cfg: Config) -> dict:
    """The settings of ``--preset NAME`` ({} without it): defaults under the other flags."""
    if not args.preset:
        return {}
    from ..presets import load_presets

    return dict(load_presets(cfg).find(args.preset).settings)


def _given(flag: Any, preset: Any) -> Any:
    """A flag's value when it was given (0 and False are given), else the preset's."""
    return preset if flag is None else flag


def _frames_line(out: dict) -> str:
    """Where the images are (a finished local run) or will be (a pool job, a dry run)."""
    folders = ", ".join(out.get("output_dirs") or []) or "(none declared)"
    done = (out.get("local") or {}).get("state") == "done"
    return f"images {'in' if done else 'will land in'}: {folders}"


def _live_scanner(args: argparse.Namespace, cfg: Config) -> Any:
    """Under ``mayapy -m cloudsubmit submit`` (or hython) open the scene in the DCC once and let
    the live session list its files, for the job's frames and again for the chosen layers' own
    ranges; None elsewhere, and submit_scene reads the scene offline."""
    from ..hosts.headless import live_scanner
    from ..scan.scanner import check_scene_file

    check_scene_file(args.scene)  # a folder must not reach the DCC either
    return live_scanner(args.scene, project=args.project, config=cfg)


def _exit(out: dict) -> int:
    """1 when a local run did not finish, with one line on stderr saying which nodes failed and
    where their logs are: "ran locally: failed" alone left the artist guessing."""
    local = out.get("local")
    if not local or local.get("state") == "done":
        return 0
    failed = list(local.get("failed") or [])
    names = ", ".join(failed[:3]) + (f" and {len(failed) - 3} more" if len(failed) > 3 else "")
    what = f"{names} failed; " if failed else ""
    print(f"cloudsubmit: error: local run {local.get('state')}: {what}logs in {Path(out['bundle']) / 'logs'}; "
          f"`cloudsubmit resubmit {out['bundle']} --scheduler local` runs what is left", file=sys.stderr)
    return 1


def run_resubmit(args: argparse.Namespace) -> int:
    from ..cli import load_cli_config
    from ..jobs.registry import find_bundle
    from ..jobs.submit import submit_bundle

    cfg = load_cli_config(args)
    out = submit_bundle(find_bundle(cfg, args.job), args.scheduler or cfg["jobs"]["scheduler"], cfg)
    where = f"ran locally: {out['local']['state']}" if "local" in out else f"DAGMan cluster {out.get('cluster')}"
    emit(args.json, out, f"resubmitted {out['job_id']} ({where})")
    return _exit(out)


def run_status(args: argparse.Namespace) -> int:
    from ..cli import load_cli_config
    from ..jobs.registry import find_bundle
    from ..jobs.status import format_status, job_status

    cfg = load_cli_config(args)
    st = job_status(find_bundle(cfg, args.job), pool=True, idle_after=int(cfg["jobs"]["explain_idle_after"]))
    emit(args.json, st.to_dict(), format_status(st))
    return 1 if st.state == "failed" else 0  # scripts waiting on a job can tell failure apart


def run_cancel(args: argparse.Namespace) -> int:
    from ..cli import load_cli_config
    from ..jobs.bundle import load_job
    from ..jobs.registry import find_bundle
    from ..jobs.schedd import cancel

    cfg = load_cli_config(args)
    bundle = find_bundle(cfg, args.job)
    job = load_job(bundle)
    removed = cancel(str(job["bundle"]), job["job_id"])
    text = (f"cancelled {job['job_id']}: {removed} job(s) removed from the pool; `cloudsubmit resubmit "
            f"{job['job_id']}` runs what is left" if removed else f"{job['job_id']}: nothing of it is in the pool")
    emit(args.json, {"job_id": job["job_id"], "bundle": str(job["bundle"]), "removed": removed}, text)
    return 0


def run_jobs(args: argparse.Namespace) -> int:
    from ..cli import load_cli_config
    from ..errors import CloudSubmitError
    from ..jobs.registry import entries, registry_path
    from ..jobs.status import job_status

    cfg = load_cli_config(args)
    rows = []
    for e in entries(cfg):
        try:
            st = job_status(e["bundle"])
            done, total = (sum(c.done for c in st.stages.values()), sum(c.total for c in st.stages.values()))
            rows.append(dict(e, state=st.state, nodes_done=done, nodes_total=total))
        except CloudSubmitError:
            rows.append(dict(e, state="bundle missing"))
    if args.json:
        write_json(rows)
    elif not rows:
        write(f"no jobs submitted yet (registry: {registry_path(cfg)})")
    else:
        table = [("JOB", "STATE", "NODES", "WHERE", "SCENE")]
        for r in rows:
            where = f"cluster {r['cluster']}" if r.get("cluster") is not None else r.get("scheduler", "")
            nodes = f"{r['nodes_done']}/{r['nodes_total']}" if "nodes_total" in r else ""
            table.append((r["job_id"], r["state"], nodes, where, r.get("scene", "")))
        widths = [max(len(str(row[i])) for row in table) for i in range(4)]
        for row in table:
            write(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]:<{widths[3]}}  {row[4]}")
    return 0


def run_stage_command(args: argparse.Namespace) -> int:
    import importlib

    module = importlib.import_module(f"cloudsubmit.stages.{args.stage}")
    return int(module.main(args.bundle, args.node))
