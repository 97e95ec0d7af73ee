"""Per-stage progress of a job from its bundle: the DAGMan node status file (a file of ClassAds)
when present, else the jobstate log. Both DAGMan and the local runner write the same files, so
``cloudsubmit status`` reads a pool job and a local run the same way."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..errors import SubmitError
from ..tally import Tally

# NodeStatus values (HTCondor manual, "Capturing the Status of Nodes in a File").
NOT_READY, READY, PRERUN, SUBMITTED, POSTRUN, DONE, ERROR, FUTILE = range(8)
COUNTS = ("done", "running", "idle", "held", "failed", "waiting", "skipped")


@dataclass
class StageCounts(Tally):
    total: int = 0
    done: int = 0
    running: int = 0
    idle: int = 0
    held: int = 0
    failed: int = 0
    waiting: int = 0
    skipped: int = 0             # will never run: an ancestor failed (DAGMan's FUTILE)

    def to_dict(self) -> Dict[str, int]:
        return {k: int(v) for k, v in self.counters().items()}  # ("total",) + COUNTS, in that order


@dataclass
class NodeProblem:
    """Why one node is not moving: failed (exit code, first error line, log), held (the hold
    reason) or idle too long (what keeps every slot from it, from the pool itself)."""
    node: str
    stage: str
    state: str                                   # failed | held | idle
    reason: str
    exit_code: Optional[int] = None
    log: str = ""

    def to_dict(self) -> Dict[str, Any]:
        return {"node": self.node, "stage": self.stage, "state": self.state, "reason": self.reason,
                "exit_code": self.exit_code, "log": self.log}

    def line(self) -> str:
        code = f" (exit {self.exit_code})" if self.exit_code is not None else ""
        log = f"; log: {self.log}" if self.log else ""
        return f"{self.node} {self.state}{code}: {self.reason}{log}"


@dataclass
class JobStatus:
    job_id: str
    bundle: str
    state: str                                   # not started | running | done | failed
    stages: Dict[str, StageCounts] = field(default_factory=dict)
    source: str = ""                             # which file the counts came from
    updated: Optional[int] = None
    failed_nodes: List[str] = field(default_factory=list)
    details: Dict[str, str] = field(default_factory=dict)       # node -> DAGMan's StatusDetails
    problems: List[NodeProblem] = field(default_factory=list)   # see explain()

    def to_dict(self) -> Dict[str, Any]:
        return {"job_id": self.job_id, "bundle": self.bundle, "state": self.state, "source": self.source,
                "updated": self.updated, "stages": {k: v.to_dict() for k, v in self.stages.items()},
                "problems": [p.to_dict() for p in self.problems]}


def _parse_ads(text: str) -> List[Dict[str, Any]]:
    """The status file's ClassAds as dicts; classad2 when installed, else a reader for the simple
    ``Name = literal;`` ads DAGMan writes."""
    try:
        import classad2
    except ImportError:
        classad2 = None
    if classad2 is not None:
        try:
            return [{k: _plain(ad.eval(k)) for k in ad.keys()} for ad in classad2.parseAds(text)]
        except Exception as exc:  # classad2 raises several types on a half-written file
            raise SubmitError(f"node status file unreadable ({exc})") from None
    return _parse_ads_fallback(text)


def _plain(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool)) else str(value)


_ATTR_RE = re.compile(r'^\s*(\w+)\s*=\s*(.*?)\s*$', re.S)


def _parse_ads_fallback(text: str) -> List[Dict[str, Any]]:
    """The flat ``[ Name = literal; ... ]`` ads of a node status file (no nesting, no ``;`` or
    ``]`` inside strings: node names cannot contain them)."""
    ads: List[Dict[str, Any]] = []
    for block in re.findall(r"\[(.*?)\]", text, flags=re.S):
        ad: Dict[str, Any] = {}
        for part in block.split(";"):
            m = _ATTR_RE.match(part)
            if not m:
                continue
            raw = m.group(2)
            try:
                ad[m.group(1)] = json.loads(raw)
            except ValueError:
                ad[m.group(1)] = raw
        ads.append(ad)
    return ads


def _classify(ad: Dict[str, Any]) -> str:
    status = int(ad.get("NodeStatus", NOT_READY))
    if status == DONE:
        return "done"
    if status == ERROR:
        return "failed"
    if status == FUTILE:
        return "skipped"
    if status in (PRERUN, POSTRUN):
        return "running"
    if status == SUBMITTED:
        if int(ad.get("JobProcsHeld", 0) or 0) > 0:
            return "held"
        details = str(ad.get("StatusDetails", "")).lower()
        return "running" if "run" in details else "idle"
    return "waiting"


def _stage_of(plan: Dict[str, Any]) -> Dict[str, str]:
    return {n["name"]: (f"post_{n['post']}" if n["stage"] == "post" else n["stage"]) for n in plan.get("nodes", [])}


def _empty(stage_of: Dict[str, str]) -> Dict[str, StageCounts]:
    out: Dict[str, StageCounts] = {}
    for stage in stage_of.values():
        out.setdefault(stage, StageCounts()).total += 1
    return out


def _from_status_file(path: Path, stage_of: Dict[str, str], st: JobStatus) -> None:
    ads = _parse_ads(path.read_text(encoding="utf-8"))
    if not any(ad.get("Type") == "StatusEnd" for ad in ads):  # DAGMan writes it last
        raise ValueError(f"{path}: incomplete node status file")
    seen = set()
    for ad in ads:
        kind = ad.get("Type")
        if kind == "DagStatus":
            st.updated = ad.get("Timestamp")
            if int(ad.get("DagStatus", NOT_READY)) in (ERROR, FUTILE):  # same codes as nodes
                st.state = "failed"
        elif kind == "NodeStatus" and ad.get("Node") in stage_of:
            seen.add(ad["Node"])
            counts = st.stages[stage_of[ad["Node"]]]
            key = _classify(ad)
            setattr(counts, key, getattr(counts, key) + 1)
            if key == "failed":
                st.failed_nodes.append(ad["Node"])
                st.details[ad["Node"]] = str(ad.get("StatusDetails", "") or "")
    for name, stage in stage_of.items():
        if name not in seen:
            st.stages[stage].waiting += 1


def _try_status_file(path: Path, stage_of: Dict[str, str], st: JobStatus) -> bool:
    """False when the file cannot be read as ClassAds (caught mid-write): the jobstate log
    answers instead."""
    try:
        _from_status_file(path, stage_of, st)
        return True
    except (SubmitError, OSError, ValueError):
        st.stages = _empty(stage_of)
        st.state = "not started"
        st.failed_nodes, st.details = [], {}
        return False


_JOBSTATE_FINAL = {"JOB_SUCCESS": "done", "POST_SCRIPT_SUCCESS": "done", "JOB_FAILURE": "failed"}


def _from_jobstate(path: Path, stage_of: Dict[str, str], st: JobStatus, retry_of: Dict[str, int]) -> None:
    """Node states from the jobstate log. A ``JOB_FAILURE`` with retries left is a node waiting to
    run again, not a failed one (unless DAGMan has finished): read between a failure and its retry,
    the job must not look failed."""
    state: Dict[str, str] = {}
    failures: Dict[str, int] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    finished = any("DAGMAN_FINISHED" in line for line in lines)
    for line in lines:
        words = line.split()
        if len(words) < 3 or words[1] not in stage_of:
            continue
        event = words[2]
        if event == "JOB_FAILURE":
            failures[words[1]] = failures.get(words[1], 0) + 1
            final = finished or failures[words[1]] > retry_of.get(words[1], 0)
            state[words[1]] = "failed" if final else "idle"
            st.details[words[1]] = f"failed with status {words[3]}" if len(words) > 3 else ""
            continue
        if event == "SUBMIT":
            state[words[1]] = "idle"
        elif event == "EXECUTE":
            state[words[1]] = "running"
        elif event == "JOB_HELD":
            state[words[1]] = "held"
        elif event == "JOB_RELEASED":
            state[words[1]] = "idle"
        elif event in _JOBSTATE_FINAL:
            state[words[1]] = _JOBSTATE_FINAL[event]
    for name, stage in stage_of.items():
        key = state.get(name, "waiting")
        setattr(st.stages[stage], key, getattr(st.stages[stage], key) + 1)
        if key == "failed":
            st.failed_nodes.append(name)


def job_status(bundle: str, pool: bool = False, idle_after: int = 120) -> JobStatus:
    """Counts per stage for the bundle at ``bundle`` (a directory or its job.json), and the
    problems :func:`explain` finds (``pool``: ask the schedd about held and idle nodes too)."""
    from .bundle import STATUS_NAME, JOBSTATE_NAME, load_job

    job = load_job(bundle)
    root = Path(job["bundle"]) if Path(job["bundle"]).is_dir() else Path(bundle)
    stage_of = _stage_of(job["plan"])
    st = JobStatus(job["job_id"], str(root), "not started", _empty(stage_of))
    status_file, jobstate = root / STATUS_NAME, root / JOBSTATE_NAME
    if status_file.is_file() and _try_status_file(status_file, stage_of, st):
        st.source = str(status_file)
    elif jobstate.is_file():
        st.source = str(jobstate)
        _from_jobstate(jobstate, stage_of, st, {n["name"]: int(n.get("retry", 0) or 0) for n in job["plan"].get("nodes", [])})
    else:
        for stage in st.stages.values():
            stage.waiting = stage.total
        return st
    totals = StageCounts.combined(st.stages.values())
    if st.state != "failed":
        if totals.failed:
            st.state = "failed"
        elif totals.done == totals.total:
            st.state = "done"
        else:
            st.state = "running"
    on_pool = (root / "job.dag.condor.sub").is_file()  # written by both HTCondor submit paths, never locally
    return explain(st, job["plan"], pool and on_pool, idle_after)


_ERROR_LINE_RE = re.compile(r"error| failed: ", re.I)


def _first_error(log: Path) -> str:
    """The first line of a node's stderr that says "error" or "<stage> failed: why" (the stage's
    own words), else its last line: what a TD reads first in the log."""
    try:
        lines = [ln.strip() for ln in log.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return next((ln for ln in lines if _ERROR_LINE_RE.search(ln)), lines[-1] if lines else "")


_STATUS_CODE_RE = re.compile(r"failed with status (-?\d+)")


def _result(root: Path, node: str) -> Dict[str, Any]:
    """``<node>.result.json``: in logs/ (a node that sees the bundle), else where HTCondor brought
    it back from a cloud node's scratch folder (the bundle itself)."""
    for path in (root / "logs" / f"{node}.result.json", root / f"{node}.result.json"):
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
            return found if isinstance(found, dict) else {}
        except (OSError, ValueError):
            continue
    return {}


def _failed_problem(root: Path, node: str, stage: str, details: str) -> NodeProblem:
    log = root / "logs" / f"{node}.err"
    result = _result(root, node)
    code = result.get("exit_code") if isinstance(result.get("exit_code"), int) else None
    said = _STATUS_CODE_RE.search(details)
    if code is None and said:
        code = int(said.group(1))
    reason = _first_error(log) or str(result.get("error") or "") or details or "no error line in its log"
    return NodeProblem(node, stage, "failed", reason, code, str(log))


def explain(st: JobStatus, plan: Dict[str, Any], pool: bool = False, idle_after: int = 120) -> JobStatus:
    """Fill ``st.problems``: every failed node from its log and result file; with ``pool``, held
    nodes and nodes idle for ``idle_after`` seconds or more from the schedd (``jobs.schedd``). A
    pool that cannot be asked is one problem line, never an exception: status still answers."""
    stage_of = _stage_of(plan)
    root = Path(st.bundle)
    st.problems = [_failed_problem(root, n, stage_of.get(n, "?"), st.details.get(n, "")) for n in st.failed_nodes]
    if not pool or st.state in ("done", "failed", "not started"):
        return st
    from .schedd import node_reasons

    try:
        reasons = node_reasons(st.job_id, idle_after)
    except SubmitError as exc:
        st.problems.append(NodeProblem("-", "-", "unknown", str(exc)))
        return st
    for node, reason in sorted(reasons.items()):
        state, _, text = reason.partition(": ") if reason.startswith("held: ") else ("idle", "", reason)
        st.problems.append(NodeProblem(node, stage_of.get(node, "?"), state, text))
    return st


def format_status(st: JobStatus) -> str:
    """A small table for the terminal, then one line per node that is failed, held or idle long."""
    lines = [f"{st.job_id}  {st.state}", f"  {'stage':<12}" + "".join(f"{k:>9}" for k in ("total",) + COUNTS)]
    for stage, c in st.stages.items():
        lines.append(f"  {stage:<12}" + "".join(f"{getattr(c, k):>9}" for k in ("total",) + COUNTS))
    lines.extend(f"  {p.line()}" for p in st.problems)
    return "\n".join(lines)
