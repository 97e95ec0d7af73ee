"""The submit panel's state as three small models, with no Qt and no notification: the form (what
the artist chose), the file list (the scan's rows, the filter, the counts) and the job (what was
submitted and how far it got). ``SubmitController`` is the facade that owns one of each, calls
the services and tells the widgets what changed, as ayon-core's tools split model and controller.

Each model is plain data with the rules that belong to it, so it is tested on its own."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ..errors import FrameSpecError
from ..frames import compact, parse_frames, range_spec, scout_frames
from ..scan.model import DependencySet
from ..units import human_size
from ..vocabulary import IN_STORE, MISSING, TO_UPLOAD, UNKNOWN, place_choices
from .services import StageProgress, SubmitRequest, SubmittedJob
from .settings import PanelSettings

STATE_FILTERS = ("all", IN_STORE, TO_UPLOAD, MISSING)
ROW_ORDER = {MISSING: 0, TO_UPLOAD: 1, UNKNOWN: 2, IN_STORE: 3}  # what needs the artist first
MAX_JOB_NAME = 80


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass
class FrameCheck:
    frames: List[int]
    error: str = ""

    @property
    def count(self) -> int:
        return len(self.frames)


def check_frames(text: str) -> FrameCheck:
    """Parse a fileseq spec for the frame field: the frames, or an inline error in plain words."""
    if not (text or "").strip():
        return FrameCheck([], "enter the frames to render, e.g. 1-100 or 1-100x5")
    try:
        return FrameCheck(parse_frames(text))
    except FrameSpecError as exc:
        return FrameCheck([], exc.message)


@dataclass
class DepRow:
    """One line of the dependency view."""

    path: str
    state: str
    size: Optional[int]
    source: str
    kind: str
    haystack: str = ""  # lower-cased path + source, for the filter box


def build_rows(deps: DependencySet, states: Optional[Dict[str, str]] = None) -> List[DepRow]:
    """The dependency view's rows, sorted. Pure Python, so a worker thread builds them for 10,000
    files while the UI stays live. A file that does not exist is missing whatever the store says."""
    states = states or {}
    rows = []
    for i, d in enumerate(deps.dependencies):
        if i % 1000 == 999:
            time.sleep(0)  # on a worker: give the UI thread the GIL now and then
        # an incomplete file (a referenced scene cut short) blocks submit like a missing one
        state = MISSING if not d.exists or d.problem else states.get(d.path, UNKNOWN)
        source = f"{d.source}; {d.problem}" if d.problem else d.source
        rows.append(DepRow(d.path, state, d.size, source, d.kind, (d.path + "\n" + source).lower()))
    rows.sort(key=lambda r: (ROW_ORDER[r.state], r.path))
    return rows


@dataclass
class FormModel:
    """What the artist chose: frames, chunk size, placement, renderer/camera/layer (a Houdini
    ROP is a "layer"), scout, priority and the job name, with the choices the scene offers."""

    chunk_size: int = 10
    placement: Dict[str, str] = field(default_factory=dict)
    scout: bool = True
    priority: int = 0
    frame_text: str = ""
    frame_check: FrameCheck = field(default_factory=lambda: check_frames(""))
    job_name: str = ""
    allow_missing: bool = False
    renderer: str = ""
    renderers: List[str] = field(default_factory=list)
    camera: str = ""
    cameras: List[str] = field(default_factory=list)
    layer: str = ""
    layers: List[str] = field(default_factory=list)
    layer_frames: Dict[str, Any] = field(default_factory=dict)
    layer_renderers: Dict[str, str] = field(default_factory=dict)
    layer_cameras: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: PanelSettings) -> "FormModel":
        return cls(chunk_size=settings.chunk_size, placement=dict(settings.placement), scout=settings.scout,
                   priority=settings.priority)

    def settings(self) -> PanelSettings:
        """The choices remembered for the next panel."""
        return PanelSettings(chunk_size=self.chunk_size, placement=dict(self.placement), scout=self.scout,
                             priority=self.priority)

    def set_frame_text(self, text: str) -> FrameCheck:
        self.frame_text = text
        self.frame_check = check_frames(text)
        return self.frame_check

    @property
    def frames(self) -> List[int]:
        return self.frame_check.frames

    def prefill_frames(self, frame_range: Any) -> None:
        spec = range_spec(*frame_range) if frame_range else ""
        if spec:
            self.set_frame_text(spec)

    def frames_summary(self) -> str:
        """"100 frames, 10 chunks, scout 1,50,100" or the inline error."""
        check = self.frame_check
        if check.error:
            return check.error
        chunks = math.ceil(check.count / max(1, self.chunk_size))
        text = f"{plural(check.count, 'frame')}, {plural(chunks, 'chunk')}"
        if self.scout and check.count > 3:
            text += f", scout {compact(scout_frames(check.frames))}"
        return text

    def set_placement(self, stage: str, where: str) -> None:
        if stage not in self.placement or where not in place_choices(stage):
            raise ValueError(f"unknown stage/placement {stage}={where}")
        self.placement[stage] = where

    def set_choices(self, renderer: str, cameras: List[str], layers: List[str]) -> None:
        self.renderers = sorted({renderer, *self.layer_renderers.values()} - {""})
        self.renderer = renderer or self.renderer
        self.cameras = list(cameras)
        self.camera = self.camera if self.camera in self.cameras else (self.cameras[0] if self.cameras else "")
        self.layers = list(layers)
        self.layer = self.layer if self.layer in self.layers else (self.layers[0] if self.layers else "")

    def set_layer(self, layer: str) -> None:
        """A Houdini ROP brings its own frame range, renderer and camera."""
        self.layer = layer
        if self.layer_frames.get(layer):
            self.prefill_frames(self.layer_frames[layer])
        self.renderer = self.layer_renderers.get(layer) or self.renderer
        camera = self.layer_cameras.get(layer)
        if camera:
            self.camera = camera
            if camera not in self.cameras:
                self.cameras.append(camera)

    def job_name_error(self) -> str:
        name = self.job_name.strip()
        if not name:
            return "give the job a name"
        if any(c in name for c in "\r\n\t") or len(name) > MAX_JOB_NAME:
            return f"the job name must be one line of at most {MAX_JOB_NAME} characters"
        return ""

    def request(self, scene: str) -> SubmitRequest:
        return SubmitRequest(
            scene=scene, frames=compact(self.frames), chunk_size=self.chunk_size,
            placement=dict(self.placement), scout=self.scout, priority=self.priority,
            job_name=self.job_name.strip(), renderer=self.renderer, camera=self.camera,
            layer=self.layer, allow_missing=self.allow_missing,
        )


@dataclass
class FileListModel:
    """The scan's rows, the filter over them and the counts per state."""

    rows: List[DepRow] = field(default_factory=list)
    visible: List[DepRow] = field(default_factory=list)
    filter_text: str = ""
    state_filter: str = "all"
    _counts: Optional[Dict[str, int]] = None

    def set_rows(self, rows: List[DepRow]) -> None:
        self.rows, self._counts = rows, None
        self.refilter()

    def clear(self) -> None:
        self.rows, self.visible, self._counts = [], [], None

    def set_filter(self, text: Optional[str] = None, state: Optional[str] = None) -> None:
        if text is not None:
            self.filter_text = text
        if state is not None:
            if state not in STATE_FILTERS:
                raise ValueError(f"unknown state filter {state!r}")
            self.state_filter = state
        self.refilter()

    def refilter(self) -> None:
        words = self.filter_text.lower().split()
        state = self.state_filter
        rows = self.rows if state == "all" else [r for r in self.rows if r.state == state]
        for word in words:  # one pass per word, each over fewer rows
            rows = [r for r in rows if word in r.haystack]
        self.visible = list(rows)

    def counts(self) -> Dict[str, int]:
        """Files per state (cached: rows do not change state until the next scan)."""
        if self._counts is None:
            out = {IN_STORE: 0, TO_UPLOAD: 0, MISSING: 0, UNKNOWN: 0}
            for r in self.rows:
                out[r.state] += 1
            self._counts = out
        return dict(self._counts)

    def totals_text(self) -> str:
        """"132 files, 120 already in the cloud, 12 to upload, 1.2 GB, 1 missing"."""
        c = self.counts()
        parts = [plural(len(self.rows), "file")]
        if c[UNKNOWN]:
            size = sum(r.size or 0 for r in self.rows if r.state != MISSING)
            parts += [f"{c[UNKNOWN]} not checked against the cloud yet", human_size(size)]
        else:
            size = sum(r.size or 0 for r in self.rows if r.state == TO_UPLOAD)
            parts += [f"{c[IN_STORE]} already in the cloud", f"{c[TO_UPLOAD]} to upload", human_size(size)]
        parts.append(f"{c[MISSING]} missing")
        return ", ".join(parts)


@dataclass
class JobModel:
    """The submitted job: what was sent (to refuse sending it twice unchanged), and its stages."""

    job: Optional[SubmittedJob] = None
    stages: List[StageProgress] = field(default_factory=list)
    submitted: Optional[SubmitRequest] = None

    def clear(self) -> None:
        self.job, self.stages = None, []

    def submitted_as(self, result: SubmittedJob, placement: Dict[str, str]) -> None:
        self.job = result
        self.stages = [StageProgress(s) for s in placement]

    def status_lines(self, placement: Dict[str, str]) -> List[str]:
        if self.job is None:
            return []
        lines = [f"Job {self.job.job_id} submitted." + (f" {self.job.message}" if self.job.message else "")]
        for s in self.stages:
            count = f" {s.done}/{s.total}" if s.total else ""
            detail = f" - {s.detail}" if s.detail else ""  # the stage's first failed/held/idle node
            lines.append(f"{s.stage}{_where(placement, s.stage)}: {s.state}{count}{detail}")
        return lines

    def finished(self) -> bool:
        return bool(self.stages) and all(s.state in ("done", "failed") for s in self.stages)


def _where(placement: Dict[str, str], stage: str) -> str:
    """" (local)" for a stage the panel placed; the job status names post stages
    ``post_<name>`` while the panel's choices use ``<name>``, which printed "post_comp ()"."""
    where = placement.get(stage) or placement.get(stage[len("post_"):] if stage.startswith("post_") else "")
    return f" ({where})" if where else ""
