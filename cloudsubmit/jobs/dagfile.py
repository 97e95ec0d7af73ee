"""Read the DAG files cloudsubmit writes (and DAGMan's rescue files), for the local runner, status
and tests. Only the commands we write are understood; anything else is reported, not ignored."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Set

from ..errors import SubmitError
from .condor import parse_vars_line


@dataclass
class DagNode:
    name: str
    submit: str
    vars: Dict[str, str] = field(default_factory=dict)
    retry: int = 0
    unless_exit: Optional[int] = None
    category: str = ""
    parents: List[str] = field(default_factory=list)


@dataclass
class Dag:
    path: Path
    nodes: Dict[str, DagNode] = field(default_factory=dict)
    abort_on: Dict[str, int] = field(default_factory=dict)     # node -> exit value
    abort_return: Dict[str, int] = field(default_factory=dict)
    maxjobs: Dict[str, int] = field(default_factory=dict)
    status_file: str = ""
    jobstate_log: str = ""


def _node(dag: Dag, name: str, line_no: int) -> DagNode:
    if name not in dag.nodes:
        raise SubmitError(f"{dag.path}:{line_no}: unknown node {name!r}", exit_code=2)
    return dag.nodes[name]


def _parse_line(dag: Dag, words: List[str], line: str, no: int) -> None:
    cmd = words[0].upper()
    if cmd in ("JOB", "NODE"):
        dag.nodes[words[1]] = DagNode(words[1], words[2])
    elif cmd == "VARS":
        name, values = parse_vars_line(line)
        _node(dag, name, no).vars.update(values)
    elif cmd == "RETRY":
        n = _node(dag, words[1], no)
        n.retry = int(words[2])
        if len(words) >= 5 and words[3].upper() == "UNLESS-EXIT":
            n.unless_exit = int(words[4])
    elif cmd == "CATEGORY":
        _node(dag, words[1], no).category = words[2]
    elif cmd == "ABORT-DAG-ON":
        dag.abort_on[words[1]] = int(words[2])
        if len(words) >= 5 and words[3].upper() == "RETURN":
            dag.abort_return[words[1]] = int(words[4])
    elif cmd == "PARENT":
        upper = [w.upper() for w in words]
        cut = upper.index("CHILD")
        for child in words[cut + 1:]:
            _node(dag, child, no).parents.extend(words[1:cut])
    elif cmd == "MAXJOBS":
        dag.maxjobs[words[1]] = int(words[2])
    elif cmd == "NODE_STATUS_FILE":
        dag.status_file = words[1]
    elif cmd == "JOBSTATE_LOG":
        dag.jobstate_log = words[1]
    elif cmd not in ("DOT", "CONFIG"):
        raise SubmitError(f"{dag.path}:{no}: unsupported DAG command {words[0]}", exit_code=2)


def read_dag(path: Path) -> Dag:
    dag = Dag(Path(path))
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SubmitError(f"{path}: cannot read DAG ({exc.strerror})", exit_code=2) from None
    for no, line in enumerate(text.splitlines(), 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        try:
            _parse_line(dag, words, line, no)
        except (IndexError, ValueError):
            raise SubmitError(f"{path}:{no}: malformed line {line.strip()!r}", exit_code=2) from None
    return dag


_RESCUE_RE = re.compile(r"\.rescue(\d{3})$")


def _rescue_number(path: Path) -> int:
    """``job.dag.rescue007`` -> 7 (only called for names the pattern matched)."""
    m = _RESCUE_RE.search(path.name)
    return int(m.group(1)) if m else 0


def rescue_files(dag_path: Path) -> List[Path]:
    """Rescue DAGs beside ``dag_path``, oldest first (``job.dag.rescue001``...)."""
    found = [p for p in dag_path.parent.glob(dag_path.name + ".rescue*") if _RESCUE_RE.search(p.name)]
    return sorted(found, key=_rescue_number)


def read_rescue(path: Path) -> Set[str]:
    """Nodes a rescue DAG marks ``DONE``."""
    done: Set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].upper() == "DONE":
            done.add(words[1])
    return done


def write_rescue(dag_path: Path, done: List[str], failed: List[str]) -> Path:
    """The next ``job.dag.rescueNNN``: the same format DAGMan writes, so either can resume it."""
    existing = rescue_files(dag_path)
    number = _rescue_number(existing[-1]) + 1 if existing else 1
    path = dag_path.with_name(f"{dag_path.name}.rescue{number:03d}")
    lines = [f"# Rescue DAG file, created by cloudsubmit's local runner for {dag_path.name}",
             f"# Nodes premarked DONE: {len(done)}", f"# Nodes that failed: {len(failed)}",
             "#   " + ",".join(failed[:50]), ""]
    lines.extend(f"DONE {n}" for n in sorted(done))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
