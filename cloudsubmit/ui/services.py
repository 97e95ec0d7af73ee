"""The four calls the panel makes into the core, injected so the controller and the widgets are
tested with small fakes and run with the real scanner, store and scheduler.

Every service takes plain data and a progress callback and runs on a worker thread; none touches a
host or Qt. ``corecalls.real_services`` binds them to cloudsubmit's public API."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from ..progress import ProgressCallback, ProgressReport
from ..scan.model import DependencySet


@dataclass
class SubmitRequest:
    """Everything the artist chose, as plain data (what Submit sends to the core)."""

    scene: str
    frames: str
    chunk_size: int
    placement: Dict[str, str]
    scout: bool
    priority: int
    job_name: str
    renderer: str = ""
    camera: str = ""
    layer: str = ""
    allow_missing: bool = False
    layers: List[str] = field(default_factory=list)    # several: one group of render nodes each
    cameras: List[str] = field(default_factory=list)
    scheduler: str = ""                                # "" = jobs.scheduler
    render_options: Dict[str, str] = field(default_factory=dict)  # a preset's extra tokens
    post: Optional[List[Dict[str, Any]]] = None        # a preset's post stages (None = jobs.post)
    dry_run: bool = False                              # Export bundle: write it, submit nothing
    layer_frames: Dict[str, str] = field(default_factory=dict)  # each layer its own range ({} = ``frames`` for all)
    layer_cameras: Dict[str, List[str]] = field(default_factory=dict)  # several layers: the cameras each renders


@dataclass
class Partial(ProgressReport):
    """A report that carries what a task has so far (``value``), ahead of its result: the scanned
    files before the store has answered, so a 100,000-file shot shows rows within a second. Any
    progress callback can take it as a report; the panel's worker hands ``value`` on unthrottled."""

    value: Any = None


@dataclass
class SubmittedJob:
    """What the panel shows of a submitted job (``api.SubmitResult`` is the core's full answer)."""

    job_id: str
    message: str = ""
    bundle: str = ""
    output_dirs: List[str] = field(default_factory=list)  # where the images land ("Open folder")
    dry_run: bool = False


@dataclass
class StageProgress:
    stage: str
    state: str = "waiting"  # waiting | running | done | failed
    done: int = 0
    total: int = 0
    detail: str = ""        # why a node of the stage is failed, held or idle (jobs.status.NodeProblem.line)


ScanFn = Callable[[str, Optional[List[int]], Any, Optional[ProgressCallback]], DependencySet]
ResolveFn = Callable[[List[str], Optional[ProgressCallback]], Dict[str, str]]
SubmitFn = Callable[[SubmitRequest, DependencySet, Optional[ProgressCallback]], SubmittedJob]
StatusFn = Callable[[str], List[StageProgress]]


@dataclass
class Services:
    """``scan(scene, frames, host_snapshot, progress) -> DependencySet``;
    ``resolve(paths, progress) -> {path: "store"|"upload"|"missing"}``;
    ``submit(request, dependencies, progress) -> SubmittedJob``;
    ``status(bundle or job_id) -> [StageProgress]``."""

    scan: ScanFn
    resolve: ResolveFn
    submit: SubmitFn
    status: StatusFn
    extra: Dict[str, Any] = field(default_factory=dict)
