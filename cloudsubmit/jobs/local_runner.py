"""``--scheduler local``: run a job bundle on this one machine, the way DAGMan would.

Each node's executable, arguments, environment and initial directory come from its ``.sub``
file expanded by ``htcondor2.Submit`` with the node's VARS (plus DAGMan's ``$(JOB)`` and
``$(RETRY)``), so a bundle that runs here runs the same on the pool. Nodes run in DAG order, up
to ``jobs.local_parallel`` at once and within each category's MAXJOBS; RETRY (with UNLESS-EXIT)
and ABORT-DAG-ON are honoured; the node status file, jobstate log and rescue DAG are written in
DAGMan's formats, so ``cloudsubmit status`` and a later resubmit behave the same.

A runner for one workstation, not a scheduler to grow: no priorities, no PRE/POST scripts."""
from __future__ import annotations

import os
import subprocess
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Set

from ..errors import Cancelled, SubmitError
from ..progress import ProgressCallback, ProgressReport, report
from . import status as S
from .condor import expand_macros, parse_submit, split_arguments, split_environment
from .bundle import STATUS_NAME
from .dagfile import Dag, DagNode, read_dag, read_rescue, rescue_files, write_rescue

KEYS = ("executable", "arguments", "environment", "initialdir", "output", "error")


@dataclass
class NodeCommand:
    argv: List[str]
    env: Dict[str, str]
    cwd: str
    stdout: str
    stderr: str


@dataclass
class LocalResult:
    state: str                                     # done | failed | aborted | cancelled
    exit_code: int
    done: List[str] = field(default_factory=list)
    failed: List[str] = field(default_factory=list)
    attempts: Dict[str, int] = field(default_factory=dict)
    rescue: str = ""

    def to_dict(self) -> Dict[str, object]:
        return {"state": self.state, "exit_code": self.exit_code, "done": len(self.done),
                "failed": self.failed, "rescue": self.rescue}


# --- expanding a node's submit description ------------------------------------------------------

def expand_submit(text: str, macros: Mapping[str, str]) -> Dict[str, str]:
    """The values of :data:`KEYS` as condor_submit would compute them for this node."""
    try:
        import htcondor2
    except ImportError:  # Windows workstations without the bindings
        return _expand_fallback(text, macros)
    try:
        sub = htcondor2.Submit(text)
        for k, v in macros.items():
            sub[k] = v
        return {k: _expanded(sub, k) for k in KEYS}
    except Exception as exc:  # htcondor2 raises HTCondorException and ValueError subclasses
        raise SubmitError(f"submit description unreadable by htcondor2: {exc}") from None


def _expanded(sub: object, key: str) -> str:
    """One expanded value; htcondor2 raises KeyError for a key that is absent *or* expands to
    nothing, and both mean "" to condor_submit."""
    try:
        return sub.expand(key) if key in sub else ""  # type: ignore[attr-defined, operator]
    except KeyError:
        return ""


def _expand_fallback(text: str, macros: Mapping[str, str]) -> Dict[str, str]:
    """condor_submit's reading of the files cloudsubmit writes, without htcondor2: the same line
    rules (:func:`~cloudsubmit.jobs.condor.parse_submit`) and macro expansion, tested to agree
    with htcondor2 on a corpus of hostile values."""
    table = parse_submit(text)
    table.update({k.lower(): v for k, v in macros.items()})
    return {k: expand_macros(table.get(k, ""), table, os.environ) for k in KEYS}


def node_command(bundle: Path, node: DagNode, attempt: int, cache: Dict[str, str]) -> NodeCommand:
    """What to run for ``node``: argv, environment, working directory and log files."""
    if node.submit not in cache:
        try:
            cache[node.submit] = (bundle / node.submit).read_text(encoding="utf-8")
        except OSError as exc:
            raise SubmitError(f"{bundle / node.submit}: cannot read ({exc.strerror})", exit_code=2) from None
    macros = dict(node.vars, JOB=node.name, RETRY=str(attempt))
    v = expand_submit(cache[node.submit], macros)
    if not v["executable"]:
        raise SubmitError(f"node {node.name}: {node.submit} has no executable", exit_code=2)
    argv = [v["executable"]] + (split_arguments(v["arguments"]) if v["arguments"] else [])
    env = dict(os.environ)  # one machine: behave like getenv = true, then the .sub's own values
    env.update(split_environment(v["environment"]) if v["environment"] else {})
    cwd = v["initialdir"] or str(bundle)
    return NodeCommand(argv, env, cwd, v["output"] or os.devnull, v["error"] or os.devnull)


# --- the files DAGMan would write ----------------------------------------------------------------

def _ad(pairs: Mapping[str, Any]) -> str:
    import json

    body = "".join(f"  {k} = {json.dumps(v) if isinstance(v, str) else int(v)};\n" for k, v in pairs.items())
    return "[\n" + body + "]\n"


class _Run:
    """Mutable state of one local run; written out as the node status file and jobstate log."""

    def __init__(self, bundle: Path, dag: Dag, done: Set[str]) -> None:
        self.bundle, self.dag = bundle, dag
        self.state: Dict[str, int] = {n: (S.DONE if n in done else S.NOT_READY) for n in dag.nodes}
        self.attempts: Dict[str, int] = {n: 0 for n in dag.nodes}
        self.codes: Dict[str, int] = {}   # last exit code per node, for the status file
        self.lock = threading.Lock()
        self.procs: Dict[str, subprocess.Popen] = {}
        self.last_write = 0.0
        self.jobstate = open(bundle / (dag.jobstate_log or "jobstate.log"), "a", encoding="utf-8")
        self.counter = 0

    def event(self, node: str, what: str, *extra: str) -> None:
        with self.lock:
            self.jobstate.write(" ".join([str(int(time.time())), node, what, *extra]) + "\n")
            self.jobstate.flush()

    def write_status(self, force: bool = False) -> None:
        now = time.time()
        if not force and now - self.last_write < 1.0:
            return
        self.last_write = now
        states = list(self.state.values())
        overall = S.DONE if all(s == S.DONE for s in states) else (
            S.ERROR if any(s in (S.ERROR, S.FUTILE) for s in states) and not self.procs else S.SUBMITTED)
        parts = [_ad({"Type": "DagStatus", "Timestamp": now, "DagStatus": overall,
                      "NodesTotal": len(states), "NodesDone": states.count(S.DONE),
                      "NodesQueued": states.count(S.SUBMITTED), "NodesFailed": states.count(S.ERROR),
                      "NodesFutile": states.count(S.FUTILE), "JobProcsHeld": 0, "JobProcsIdle": 0})]
        for name, st in self.state.items():
            parts.append(_ad({"Type": "NodeStatus", "Node": name, "NodeStatus": st,
                              "StatusDetails": "running" if st == S.SUBMITTED else (
                                  f"Job proc (local) failed with status {self.codes.get(name)}"  # DAGMan's words
                                  if st == S.ERROR and name in self.codes else ""),
                              "RetryCount": max(0, self.attempts[name] - 1),
                              "JobProcsQueued": 1 if st == S.SUBMITTED else 0, "JobProcsHeld": 0}))
        parts.append(_ad({"Type": "StatusEnd", "EndTime": now, "NextUpdate": now + 1}))
        path = self.bundle / (self.dag.status_file or STATUS_NAME)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(parts), encoding="utf-8")
        os.replace(tmp, path)  # `status` never reads half a file




def _run_one(run: _Run, node: DagNode, cache: Dict[str, str]) -> int:
    """Run ``node`` once; its return code (127 when it cannot start at all)."""
    with run.lock:
        run.counter += 1
        job = f"{run.counter}.0"
    run.event(node.name, "SUBMIT", job, "-", "local", "-", str(run.attempts[node.name]))
    try:
        cmd = node_command(run.bundle, node, run.attempts[node.name] - 1, cache)
        for p in (cmd.stdout, cmd.stderr):
            if p != os.devnull:
                Path(p).parent.mkdir(parents=True, exist_ok=True)
        with open(cmd.stdout, "ab") as out, open(cmd.stderr, "ab") as err:
            proc = subprocess.Popen(cmd.argv, cwd=cmd.cwd, env=cmd.env, stdout=out, stderr=err,
                                    stdin=subprocess.DEVNULL)
            with run.lock:
                run.procs[node.name] = proc
            run.event(node.name, "EXECUTE", job, "-", "local")
            code = proc.wait()
    except (OSError, SubmitError) as exc:
        _log_error(run.bundle, node.name, str(exc))
        code = 127
    finally:
        with run.lock:
            run.procs.pop(node.name, None)
    run.event(node.name, "JOB_TERMINATED", job, "-", "local")
    return code


def _log_error(bundle: Path, node: str, message: str) -> None:
    logs = bundle / "logs"
    logs.mkdir(exist_ok=True)
    with open(logs / f"{node}.err", "a", encoding="utf-8") as f:
        f.write(f"cloudsubmit local runner: {message}\n")


def _ready(run: _Run, running: Set[str]) -> List[str]:
    """Nodes whose parents are all done, within each category's MAXJOBS."""
    busy: Dict[str, int] = {}
    for name in running:
        cat = run.dag.nodes[name].category
        busy[cat] = busy.get(cat, 0) + 1
    out = []
    for name, node in run.dag.nodes.items():
        if run.state[name] != S.NOT_READY or any(run.state[p] != S.DONE for p in node.parents):
            continue
        limit = run.dag.maxjobs.get(node.category)
        if limit and busy.get(node.category, 0) >= limit:
            continue
        busy[node.category] = busy.get(node.category, 0) + 1
        out.append(name)
    return out


def _mark_futile(run: _Run) -> None:
    changed = True
    while changed:
        changed = False
        for name, node in run.dag.nodes.items():
            if run.state[name] == S.NOT_READY and any(run.state[p] in (S.ERROR, S.FUTILE) for p in node.parents):
                run.state[name] = S.FUTILE
                changed = True


def _finish(run: _Run, name: str, code: int) -> Optional[int]:
    """Record a node's exit; returns the DAG's abort code when ABORT-DAG-ON fires."""
    node = run.dag.nodes[name]
    if code == 0:
        run.state[name] = S.DONE
        run.event(name, "JOB_SUCCESS", "0")
        return None
    run.codes[name] = code
    run.event(name, "JOB_FAILURE", str(code))
    if run.dag.abort_on.get(name) == code:
        run.state[name] = S.ERROR
        return run.dag.abort_return.get(name, code)
    if run.attempts[name] <= node.retry and code != node.unless_exit:
        run.state[name] = S.NOT_READY  # DAGMan's RETRY: the node runs again
        return None
    run.state[name] = S.ERROR
    return None


def run_bundle(bundle: str, max_parallel: int = 2, progress: Optional[ProgressCallback] = None) -> LocalResult:
    """Run every node of the bundle's DAG here. Resumes from the newest rescue DAG if one exists."""
    root = Path(bundle)
    dag = read_dag(root / "job.dag")
    rescues = rescue_files(root / "job.dag")
    run = _Run(root, dag, read_rescue(rescues[-1]) if rescues else set())
    cache: Dict[str, str] = {}
    abort: Optional[int] = None
    cancelled = False
    run.event("INTERNAL", "***", "DAGMAN_STARTED", "0.0", "***")
    futures: Dict[Future, str] = {}
    with ThreadPoolExecutor(max_workers=max(1, max_parallel)) as pool:
        while True:
            if abort is None and not cancelled:
                for name in _ready(run, set(futures.values()))[: max(0, max_parallel - len(futures))]:
                    run.state[name] = S.SUBMITTED
                    run.attempts[name] += 1
                    futures[pool.submit(_run_one, run, dag.nodes[name], cache)] = name
            run.write_status()
            if not futures:
                break
            finished, _ = wait(list(futures), timeout=0.5, return_when=FIRST_COMPLETED)
            last = ""
            for fut in finished:
                last = futures.pop(fut)
                code = _finish(run, last, fut.result())
                if code is not None and abort is None:
                    abort = code
                    _terminate(run)
            if not cancelled and not _heartbeat(run, progress, last):
                cancelled = True
                _terminate(run)
    return _result(run, abort, cancelled)


def _heartbeat(run: _Run, progress: Optional[ProgressCallback], last: str) -> bool:
    """Report progress at least twice a second (so a UI can cancel a long render); False when
    the callback asked to stop."""
    done = sum(1 for s in run.state.values() if s == S.DONE)
    try:
        report(progress, ProgressReport("run", done, len(run.state), message=last))
    except Cancelled:
        return False
    return True


def _terminate(run: _Run) -> None:
    with run.lock:
        for proc in run.procs.values():
            try:
                proc.terminate()
            except OSError:
                pass


def _result(run: _Run, abort: Optional[int], cancelled: bool) -> LocalResult:
    for name, st in run.state.items():
        if st == S.SUBMITTED:  # terminated by an abort or a cancel
            run.state[name] = S.ERROR
    _mark_futile(run)
    done = [n for n, s in run.state.items() if s == S.DONE]
    failed = [n for n, s in run.state.items() if s == S.ERROR]
    attempts = dict(run.attempts)
    run.write_status(force=True)
    ok = len(done) == len(run.state)
    code = 0 if ok else (abort if abort is not None else 1)
    run.event("INTERNAL", "***", "DAGMAN_FINISHED", str(code), "***")
    run.jobstate.close()
    result = LocalResult("done" if ok else "cancelled" if cancelled else "aborted" if abort is not None else "failed",
                         code, done, failed, attempts)
    if not ok:
        result.rescue = str(write_rescue(run.dag.path, done, failed))
    if cancelled:
        raise Cancelled(f"local run cancelled; resume with the same bundle ({result.rescue})")
    return result
