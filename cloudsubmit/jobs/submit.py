"""Hand a written bundle to a scheduler: the HTCondor pool (htcondor2 bindings, else
``condor_submit_dag``) or the local runner. Resubmitting the same bundle picks up DAGMan's newest
rescue DAG, so finished nodes are not run again."""
from __future__ import annotations

import contextlib
import datetime as _dt
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, Optional

from ..errors import NoPool, SubmitError
from ..progress import ProgressCallback, ProgressReport, report
from .bundle import DAG_NAME, load_job
from .condor import dagman_reads_literally
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


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """``Submit.from_dag`` prints "Running rescue DAG N" from C straight to file descriptor 1,
    which would break ``--json`` (one object on stdout, nothing else): send fd 1 to stderr meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        _flush_c_stdio()  # the C library buffers its stdout: flush it while fd 1 is still stderr
        os.dup2(saved, 1)
        os.close(saved)


def _flush_c_stdio() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # no C library to ask (Windows without msvcrt symbols)
        pass


def check_pool_dir(bundle: Path) -> None:
    """Refuse a pool bundle folder DAGMan cannot work in: under /tmp (DAGMan refuses node logs
    there) or with a ``$(`` in its path (DAGMan expands it, see ``condor.dagman_reads_literally``).
    api.submit_scene calls it before writing anything."""
    real = os.path.realpath(bundle)
    if real == "/tmp" or real.startswith("/tmp/") or real.startswith("/var/tmp/"):
        raise SubmitError(f"{bundle}: DAGMan refuses node logs under /tmp; write the bundle elsewhere "
                          "(--bundle-dir or jobs.bundle_root)", exit_code=2)
    if not dagman_reads_literally(real):
        raise SubmitError(f"{bundle}: DAGMan expands '$(' in the path of a DAG's folder (node events "
                          "would go elsewhere); write the bundle elsewhere (--bundle-dir or "
                          "jobs.bundle_root)", exit_code=2)


def _via_bindings(bundle: Path, batch: str, fallback: bool = True) -> Optional[int]:
    """The cluster id, or None when the bindings or a schedd are not available here (and
    ``fallback`` allows condor_submit_dag to try instead)."""
    try:
        import htcondor2
    except ImportError:
        return None
    if not shutil.which("condor_dagman"):  # from_dag needs it (and says so on the C stderr)
        return None
    try:
        with _in_dir(bundle), _stdout_to_stderr():
            sub = htcondor2.Submit.from_dag(DAG_NAME, {"BatchName": batch, "UpdateSubmit": True,
                                                                 "AutoRescue": 1})
            schedd = htcondor2.Schedd()
            result = schedd.submit(sub)
    except Exception as exc:  # HTCondorException, or no condor_dagman / no schedd on this machine
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if fallback and shutil.which("condor_submit_dag"):
            return None
        raise SubmitError(f"{bundle / DAG_NAME}: HTCondor refused the DAG ({text})") from None
    return int(result.cluster())


NO_POOL = ("no HTCondor here: neither a reachable schedd through htcondor2 nor condor_submit_dag on PATH "
           "(use --scheduler local to run on this machine)")


def check_pool_tools(how: str = "auto") -> None:
    """Raise :class:`NoPool` when ``jobs.submit_with`` = ``how`` has no way to reach a schedd from
    here; api.submit_scene asks before writing a bundle, so nothing is left behind."""
    bindings = shutil.which("condor_dagman") is not None and importlib.util.find_spec("htcondor2") is not None
    command = shutil.which("condor_submit_dag") is not None
    if not {"auto": bindings or command, "bindings": bindings, "condor_submit_dag": command}.get(how, True):
        raise NoPool(NO_POOL)


def _via_command(bundle: Path, batch: str) -> int:
    exe = shutil.which("condor_submit_dag")
    if not exe:
        raise NoPool(NO_POOL)
    proc = subprocess.run([exe, "-batch-name", batch, "-update_submit", "-autorescue", "1", DAG_NAME], cwd=str(bundle),
                          capture_output=True, text=True, timeout=300)
    found = _CLUSTER_RE.search(proc.stdout or "")
    if proc.returncode != 0 or not found:
        last = ((proc.stderr or proc.stdout or "").strip().splitlines() or ["no output"])[-1]
        raise SubmitError(f"condor_submit_dag failed for {bundle / DAG_NAME}: {last}")
    return int(found.group(1))


def _submit_dag(bundle: Path, batch: str, how: str) -> int:
    """``jobs.submit_with``: ``auto`` tries the bindings, then condor_submit_dag; the other two
    values use only that path (a studio whose bindings do not match its schedd's version); the
    value was checked against ``_rules.yaml`` when the config was loaded."""
    if how != "condor_submit_dag":
        cluster = _via_bindings(bundle, batch, fallback=how == "auto")
        if cluster is not None:
            return cluster
        if how == "bindings":
            raise SubmitError("jobs.submit_with is bindings, but the htcondor2 bindings or condor_dagman "
                              "are not available here", exit_code=2)
    return _via_command(bundle, batch)


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
        check_pool_dir(root)
        batch = (job["plan"].get("name") or "").strip() or job["job_id"]
        cluster = _submit_dag(root, batch, str(config["jobs"].get("submit_with") or "auto"))
        out["cluster"] = cluster
        record(config, dict(entry, cluster=cluster))
    report(progress, ProgressReport("submit", 1, 1, message=scheduler))
    return out
