"""Hand a written bundle to a scheduler: the HTCondor pool (htcondor2 bindings, else
``condor_submit_dag``) or the local runner. Resubmitting the same bundle picks up DAGMan's newest
rescue DAG, so finished nodes are not run again."""
from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, Optional

from ..errors import SubmitError
from ..progress import ProgressCallback, ProgressReport, report
from .bundle import DAG_NAME, load_job
from .registry import record

if TYPE_CHECKING:
    from ..config import Config

SCHEDULERS = ("htcondor", "local")
_CWD_LOCK = threading.Lock()
_CLUSTER_RE = re.compile(r"submitted to cluster (\d+)", re.I)


@contextlib.contextmanager
def _in_dir(path: Path) -> Iterator[None]:
    """DAGMan resolves the DAG's relative paths (submit files, status file) against the directory
    it is submitted from; the bindings take that from the process's working directory."""
    with _CWD_LOCK:
        old = os.getcwd()
        os.chdir(path)
        try:
            yield
        finally:
            os.chdir(old)


def check_not_tmp(bundle: Path) -> None:
    """Refuse a pool bundle under /tmp; api.submit_scene calls it before writing anything."""
    real = os.path.realpath(bundle)
    if real == "/tmp" or real.startswith("/tmp/") or real.startswith("/var/tmp/"):
        raise SubmitError(f"{bundle}: DAGMan refuses node logs under /tmp; write the bundle elsewhere "
                          "(--bundle-dir or jobs.bundle_root)", exit_code=2)


def _via_bindings(bundle: Path, batch: str) -> Optional[int]:
    """The cluster id, or None when the bindings or a schedd are not available here."""
    try:
        import htcondor2
    except ImportError:
        return None
    if not shutil.which("condor_dagman"):  # from_dag needs it (and says so on the C stderr)
        return None
    try:
        with _in_dir(bundle):
            sub = htcondor2.Submit.from_dag(DAG_NAME, {"BatchName": batch, "UpdateSubmit": True,
                                                                 "AutoRescue": 1})
            schedd = htcondor2.Schedd()
            result = schedd.submit(sub)
    except Exception as exc:  # HTCondorException, or no condor_dagman / no schedd on this machine
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if shutil.which("condor_submit_dag"):
            return None
        raise SubmitError(f"{bundle / DAG_NAME}: HTCondor refused the DAG ({text})") from None
    return int(result.cluster())


def _via_command(bundle: Path, batch: str) -> int:
    exe = shutil.which("condor_submit_dag")
    if not exe:
        raise SubmitError("no HTCondor here: neither a reachable schedd through htcondor2 nor "
                          "condor_submit_dag on PATH (use --scheduler local to run on this machine)")
    proc = subprocess.run([exe, "-batch-name", batch, "-update_submit", "-autorescue", "1", DAG_NAME], cwd=str(bundle),
                          capture_output=True, text=True, timeout=300)
    found = _CLUSTER_RE.search(proc.stdout or "")
    if proc.returncode != 0 or not found:
        last = ((proc.stderr or proc.stdout or "").strip().splitlines() or ["no output"])[-1]
        raise SubmitError(f"condor_submit_dag failed for {bundle / DAG_NAME}: {last}")
    return int(found.group(1))


def submit_bundle(bundle: str, scheduler: str, config: Config,
                  progress: Optional[ProgressCallback] = None) -> Dict[str, Any]:
    """Submit (or run) the bundle; returns ``{"job_id", "bundle", "dag", "scheduler", "cluster"}``
    for the pool, or ``... "local": {...}`` for a local run."""
    if scheduler not in SCHEDULERS:
        raise SubmitError(f"unknown scheduler {scheduler!r} (htcondor or local)", exit_code=2)
    job = load_job(bundle)
    root = Path(job["bundle"])
    out: Dict[str, Any] = {"job_id": job["job_id"], "bundle": str(root), "dag": str(root / DAG_NAME),
                           "scheduler": scheduler}
    entry = dict(out, scene=job["plan"]["scene"], submitted=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    report(progress, ProgressReport("submit", 0, 1, message=scheduler))
    if scheduler == "local":
        from .local_runner import run_bundle

        record(config, entry)
        result = run_bundle(str(root), int(config["jobs"]["local_parallel"]), progress)
        out["local"] = result.to_dict()
    else:
        check_not_tmp(root)
        batch = (job["plan"].get("name") or "").strip() or job["job_id"]
        cluster = _via_bindings(root, batch)
        if cluster is None:
            cluster = _via_command(root, batch)
        out["cluster"] = cluster
        record(config, dict(entry, cluster=cluster))
    report(progress, ProgressReport("submit", 1, 1, message=scheduler))
    return out
