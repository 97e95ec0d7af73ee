"""What the pool itself says about a job's nodes, and removing a job from it.

Through the ``htcondor2`` bindings where they are installed (the schedd's job ads, the collector's
slot ads), else through ``condor_q -json`` / ``condor_rm``. An idle node's reason is worked out the
way ``condor_q -better-analyze`` does: the job's Requirements split into their ``&&`` clauses, each
clause evaluated against every slot ad, and the first clause no machine satisfies named in plain
words ("no cloud slot has 4 CPUs (largest: 2)"); a node every clause fits but no slot starts names
the slots' own START ("cloud slots start only jobs with TARGET.MayUseAWS =?= True")."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ..errors import SubmitError
from .condor import classad_quote

IDLE, RUNNING, REMOVED, COMPLETED, HELD = 1, 2, 3, 4, 5  # JobStatus values
_RESOURCES = (("Cpus", "RequestCpus", "TotalSlotCpus", "{} CPUs"),
              ("Memory", "RequestMemory", "TotalSlotMemory", "{} MB of memory"),
              ("Disk", "RequestDisk", "TotalSlotDisk", "{} KB of disk"),
              ("GPUs", "RequestGPUs", "TotalSlotGPUs", "{} GPUs"))


@dataclass
class NodeJob:
    """One node job in the queue, as the schedd has it."""
    node: str
    status: int
    since: Optional[int]           # EnteredCurrentStatus (epoch seconds)
    hold_reason: str = ""
    ad: Any = None                 # the full job ad (classad2.ClassAd) when the bindings are here


def _bindings() -> Any:
    try:
        import htcondor2
    except ImportError:
        return None
    return htcondor2


def node_jobs(job_id: str) -> List[NodeJob]:
    """The queued node jobs of ``job_id`` (every node job carries ``CloudSubmitJob``)."""
    constraint = f"CloudSubmitJob == {classad_quote(job_id, 'job id')}"
    htc = _bindings()
    if htc is not None:
        try:
            ads = htc.Schedd().query(constraint)
        except Exception as exc:  # HTCondorException: no schedd reachable
            raise SubmitError(f"cannot ask the schedd about job {job_id} ({_first_line(exc)})") from None
        return [NodeJob(str(ad.get("DAGNodeName", "?")), int(ad.get("JobStatus", 0)),
                        _int(ad.get("EnteredCurrentStatus")), hold_reason(ad), ad) for ad in ads]
    rows = _condor_q_json(constraint)
    return [NodeJob(str(r.get("DAGNodeName", "?")), int(r.get("JobStatus", 0)), _int(r.get("EnteredCurrentStatus")),
                    hold_reason(r)) for r in rows]


def hold_reason(ad: Any) -> str:
    """``HoldReason``; a hold through the bindings' ``Schedd.act`` may leave it empty, then the
    code says who held it (1 = UserRequest: a person with condor_hold or the bindings)."""
    text = str(ad.get("HoldReason", "") or "")
    if text or int(ad.get("JobStatus", 0) or 0) != HELD:
        return text
    code = _int(ad.get("HoldReasonCode"))
    return "by a user or an admin (condor_hold), no reason given" if code == 1 else f"no reason given (hold code {code})"


def _int(value: Any) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _condor_q_json(constraint: str) -> List[Dict[str, Any]]:
    exe = shutil.which("condor_q")
    if not exe:
        raise SubmitError("no HTCondor here: neither the htcondor2 bindings nor condor_q on PATH")
    proc = subprocess.run([exe, "-constraint", constraint, "-json", "-attributes",
                           "DAGNodeName,JobStatus,EnteredCurrentStatus,HoldReason,HoldReasonCode"],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise SubmitError(f"condor_q failed: {(proc.stderr or proc.stdout).strip()[-200:]}")
    try:
        return json.loads(proc.stdout) if proc.stdout.strip() else []
    except ValueError:
        raise SubmitError("condor_q -json printed something that is not JSON") from None


def slot_ads() -> Optional[List[Any]]:
    """Every startd slot ad in the pool, or None without the bindings."""
    htc = _bindings()
    if htc is None:
        return None
    try:
        return htc.Collector().query(htc.AdType.Startd)
    except Exception as exc:  # HTCondorException: no collector reachable
        raise SubmitError(f"cannot ask the collector for the pool's machines ({_first_line(exc)})") from None


def node_reasons(job_id: str, idle_after: int, now: Optional[float] = None) -> Dict[str, str]:
    """``{node: reason}`` for held nodes (the hold reason) and nodes idle longer than
    ``idle_after`` seconds (what keeps them from every slot)."""
    now = time.time() if now is None else now
    out: Dict[str, str] = {}
    slots: Optional[List[Any]] = None
    for job in node_jobs(job_id):
        if job.status == HELD:
            out[job.node] = f"held: {job.hold_reason}"
        elif job.status == IDLE and job.since is not None and now - job.since >= idle_after:
            if job.ad is None:
                out[job.node] = (f"idle for {int(now - job.since)} s (install the htcondor2 bindings for the "
                                 f"pool's reason, or run condor_q -better-analyze)")
                continue
            if slots is None:
                slots = slot_ads() or []
            out[job.node] = f"idle for {int(now - job.since)} s: {why_idle(job.ad, slots)}"
    return out


def _depths(text: str) -> Iterator[Tuple[int, str, int]]:
    """``(index, char, depth)`` of every character outside string literals, depth counted after
    the character (an opening parenthesis has depth 1): the one scan both helpers below share."""
    depth, quote, escaped = 0, False, False
    for i, ch in enumerate(text):
        if quote:
            quote, escaped = (escaped or ch != '"'), (ch == "\\" and not escaped)
            continue
        if ch == '"':
            quote = True
            continue
        depth += 1 if ch == "(" else -1 if ch == ")" else 0
        yield i, ch, depth


def _wrapped(text: str) -> bool:
    """``(a && b)``, one parenthesised group (not ``(a) && (b)``)."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    return all(depth > 0 for i, ch, depth in _depths(text) if i < len(text) - 1)


def split_and(expr: str) -> List[str]:
    """The top-level ``&&`` clauses of a ClassAd expression, with clauses that are one
    parenthesised group split again (condor_submit wraps the user's Requirements so)."""
    text = expr.strip()
    while _wrapped(text):
        text = text[1:-1].strip()
    cuts = [i for i, ch, depth in _depths(text) if depth == 0 and text.startswith("&&", i)]
    if not cuts:
        return [text]
    bounds = [0] + [c + 2 for c in cuts]
    parts = [text[start:end] for start, end in zip(bounds, cuts + [len(text)])]
    return [c for p in parts for c in split_and(p) if c]


def _holds(clause: str, job: Any, slot: Any) -> bool:
    import classad2

    try:
        return classad2.ExprTree(clause).eval(scope=job, target=slot) is True
    except Exception:  # a clause classad2 cannot evaluate counts as not met
        return False


def _wants(ad: Any, other: Any) -> bool:
    """``ad``'s Requirements hold with ``other`` as TARGET (spelled out: classad2's ``matches``
    reads the other way round)."""
    key = next((k for k in ad.keys() if k.lower() == "requirements"), None)
    return key is None or _holds(str(ad.lookup(key)), ad, other)


def _empty_slot(slot: Any) -> Any:
    """``slot`` as it is with nothing running: a partitionable slot's ``Cpus``/``Memory``/... are
    what is free now, its ``TotalSlot*`` what it has. "Never fits" is judged on the latter."""
    import classad2

    whole = classad2.ClassAd()
    whole.update(slot)
    for attr, _request, total, _unit in _RESOURCES:
        if isinstance(slot.get(total), (int, float)):
            whole[attr] = slot.get(total)
    return whole


def why_idle(job: Any, slots: List[Any]) -> str:
    """One line: why no slot in ``slots`` runs ``job`` (classad2 ads)."""
    if not slots:
        return "the pool has no machines (condor_status lists none)"
    both = [s for s in slots if _wants(job, s) and _wants(s, job)]
    if both:
        return f"waiting for a free slot ({len(both)} machines match)"
    slots = [_empty_slot(s) for s in slots]
    could = [s for s in slots if _wants(job, s) and _wants(s, job)]
    if could:
        return f"waiting for a free slot: the {len(could)} machines that fit are busy"
    place = str(job.get("CloudSubmitPlace", "") or "")
    clauses = split_and(str(job.lookup("Requirements")) if "Requirements" in job else "true")
    resource = [c for c in clauses if _resource_of(c)]
    other = [c for c in clauses if c not in resource]
    fitting = [s for s in slots if all(_holds(c, job, s) for c in other)]
    for clause in other:
        if not any(_holds(clause, job, s) for s in slots):
            return f"no machine matches {_shown(clause)}"
    if not fitting:
        return f"no machine matches all of {_shown(' && '.join(other))}"
    for clause in resource:
        if not any(_holds(clause, job, s) for s in fitting):
            return _resource_text(clause, job, fitting, place)
    refusing = [s for s in fitting if not _wants(s, job)]
    start = next((str(refusing[0].lookup(k)) for k in refusing[0].keys() if k.lower() == "start"), "") if refusing else ""
    where = f"{place} slots" if place else "the machines that fit"
    return f"{where} start only jobs with {_shown(start)}" if start else f"{where} refuse it (their START)"


def _resource_of(clause: str) -> Optional[Tuple[str, str, str, str]]:
    for res in _RESOURCES:
        if re.search(rf"\bTARGET\.{res[0]}\b", clause) and res[1] in clause:
            return res
    return None


def _resource_text(clause: str, job: Any, slots: List[Any], place: str) -> str:
    found = _resource_of(clause)
    if found is None:  # only called for resource clauses
        return f"no machine matches {_shown(clause)}"
    attr, request, total, unit = found
    asked = job.eval(request) if request in job else "?"
    sizes = [s.get(total, s.get(attr)) for s in slots]
    largest = max((v for v in sizes if isinstance(v, (int, float))), default="?")
    kind = f"{place} slot" if place else "slot"
    return f"no {kind} has {unit.format(asked)} (largest: {largest})"


def _shown(clause: str, limit: int = 160) -> str:
    text = " ".join(clause.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def cancel(bundle: str, job_id: str) -> int:
    """Remove the job's DAGMan (its folder is the bundle) and every node job of it; returns
    how many jobs the schedd removed. DAGMan writes a rescue DAG, so ``resubmit`` runs what is left."""
    constraint = (f"(JobUniverse == 7 && Iwd == {classad_quote(bundle, 'bundle')}) || "
                  f"CloudSubmitJob == {classad_quote(job_id, 'job id')}")
    reason = f"cloudsubmit cancel {job_id}"
    htc = _bindings()
    if htc is not None:
        try:
            result = htc.Schedd().act(htc.JobAction.Remove, constraint, reason)
        except Exception as exc:  # HTCondorException
            raise SubmitError(f"cannot remove job {job_id} from the pool ({_first_line(exc)})") from None
        return int(result.get("TotalSuccess", 0)) if hasattr(result, "get") else 0
    exe = shutil.which("condor_rm")
    if not exe:
        raise SubmitError("no HTCondor here: neither the htcondor2 bindings nor condor_rm on PATH")
    proc = subprocess.run([exe, "-constraint", constraint, "-reason", reason], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 and "no jobs" not in (proc.stderr + proc.stdout).lower():
        raise SubmitError(f"condor_rm failed for job {job_id}: {(proc.stderr or proc.stdout).strip()[-200:]}")
    return len(re.findall(r"marked for removal", proc.stdout))
