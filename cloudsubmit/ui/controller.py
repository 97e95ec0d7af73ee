"""The submit panel's logic, with no Qt: state, validation, the dependency rows and their totals,
and what Submit does. The widgets render what this says and call its setters; tests drive it
directly.

Long work is handed out as *tasks*: plain callables ``task(progress) -> result`` that a worker
thread runs; the panel calls the matching ``*_done`` method with the result on the main thread.
Host calls (save-before-submit) happen here, on the main thread, never in a task."""
from __future__ import annotations

import dataclasses
import math
import posixpath
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from ..errors import Cancelled, CloudSubmitError, FrameSpecError
from ..frames import compact, parse_frames, range_spec, scout_frames
from ..progress import ProgressCallback
from ..scan.model import DependencySet
from ..scan.readers import HOSTS, scene_extension
from ..units import human_size
from ..vocabulary import IN_STORE, MISSING, TO_UPLOAD, UNKNOWN
from .services import Services, StageProgress, SubmitRequest, SubmittedJob
from ..vocabulary import PLACES
from .settings import PanelSettings, load_settings, save_settings

Task = Callable[[Optional[ProgressCallback]], Any]
Listener = Callable[[str], None]
STATE_LABELS = {IN_STORE: "in the cloud", TO_UPLOAD: "to upload", MISSING: "missing", UNKNOWN: "checking"}
STATE_FILTERS = ("all", IN_STORE, TO_UPLOAD, MISSING)
MAX_JOB_NAME = 80


@dataclass
class DepRow:
    """One line of the dependency view."""

    path: str
    state: str
    size: Optional[int]
    source: str
    kind: str
    haystack: str = ""  # lower-cased path + source, for the filter box


@dataclass
class FrameCheck:
    frames: List[int]
    error: str = ""

    @property
    def count(self) -> int:
        return len(self.frames)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def check_frames(text: str) -> FrameCheck:
    """Parse a fileseq spec for the frame field: the frames, or an inline error in plain words."""
    if not (text or "").strip():
        return FrameCheck([], "enter the frames to render, e.g. 1-100 or 1-100x5")
    try:
        return FrameCheck(parse_frames(text))
    except FrameSpecError as exc:
        return FrameCheck([], exc.message)


ROW_ORDER = {MISSING: 0, TO_UPLOAD: 1, UNKNOWN: 2, IN_STORE: 3}  # what needs the artist first


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


def describe_error(exc: BaseException) -> str:
    """An exception as one sentence for an artist: our own errors say what to fix already."""
    if isinstance(exc, Cancelled):
        return "Cancelled."
    if isinstance(exc, CloudSubmitError):
        return exc.message[:1].upper() + exc.message[1:]
    return f"Something went wrong ({type(exc).__name__}: {exc}). Please send the log to your pipeline TD."


class SubmitController:
    """State of one submit panel. ``subscribe(fn)`` to hear which part changed: "scene",
    "frames", "options", "rows", "busy", "status", "error"."""

    def __init__(self, services: Services, settings: Optional[PanelSettings] = None,
                 settings_file: Any = None, save_scene: Optional[Callable[[], str]] = None,
                 defaults: Optional[PanelSettings] = None, host_snapshot: Optional[Callable[[], Any]] = None) -> None:
        self.services = services
        self._host_snapshot = host_snapshot  # asks the live host again (main thread) before a rescan
        self.settings_file = settings_file
        self.settings = settings if settings is not None else load_settings(settings_file, defaults)
        self._save_scene = save_scene
        self._listeners: List[Listener] = []
        self.scene = ""
        self.snapshot: Any = None
        self.modified = False
        self.frame_text = ""
        self.frame_check = check_frames("")
        self.chunk_size = self.settings.chunk_size
        self.placement = dict(self.settings.placement)
        self.scout = self.settings.scout
        self.priority = self.settings.priority
        self.job_name = ""
        self.renderer, self.renderers = "", []  # type: str, List[str]
        self.camera, self.cameras = "", []  # type: str, List[str]
        self.layer, self.layers = "", []  # type: str, List[str]
        self.layer_frames: Dict[str, Any] = {}
        self.layer_renderers: Dict[str, str] = {}
        self.layer_cameras: Dict[str, str] = {}
        self.dependencies: Optional[DependencySet] = None
        self.rows: List[DepRow] = []
        self._counts: Optional[Dict[str, int]] = None
        self.visible: List[DepRow] = []
        self.filter_text, self.state_filter = "", "all"
        self.allow_missing = False
        self.busy = ""  # the stage a worker is running, "" when idle
        self.error = ""
        self.job: Optional[SubmittedJob] = None
        self.stages: List[StageProgress] = []
        self._submitted: Optional[SubmitRequest] = None
        self._scanned: Any = None      # the scan_key() the shown file list was made for
        self._scan_failed: Any = None  # a key whose scan failed: not retried by itself

    # -- notification -------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _emit(self, topic: str) -> None:
        for listener in list(self._listeners):
            listener(topic)

    # -- scene and host ------------------------------------------------------------------------
    def load_scene(self, scene: str, snapshot: Any = None, layer: str = "") -> None:
        """Start on ``scene``; with a host ``snapshot`` (plain data gathered on the main thread)
        pre-fill frames, cameras, layers/ROPs and renderer from the live session."""
        from .. import paths

        self.scene = paths.normpath(scene) if scene else ""
        self.snapshot = snapshot
        self.modified = bool(getattr(snapshot, "modified", False))
        self.job_name = posixpath.splitext(posixpath.basename(self.scene))[0] if self.scene else ""
        self.dependencies, self.rows, self.visible, self.job, self.stages = None, [], [], None, []
        self._counts = None
        if snapshot is not None:
            self.layer_frames = dict(snapshot.layer_frames)
            self.layer_renderers = dict(snapshot.layer_renderers)
            self.layer_cameras = dict(snapshot.layer_cameras)
            self._choices(snapshot.renderer, snapshot.cameras, snapshot.layers)
            self._prefill_frames(snapshot.frame_range)
            if layer in self.layers or (not layer and self.layers):
                self.set_layer(layer or self.layers[0])
        self._emit("scene")

    @property
    def host_kind(self) -> str:
        """"maya", "houdini" (live or by the file's extension) or "" for other scene files."""
        if self.snapshot is not None:
            return self.snapshot.host
        kind = HOSTS.get(scene_extension(self.scene), "")
        return kind if kind in ("maya", "houdini") else ""

    def _choices(self, renderer: str, cameras: List[str], layers: List[str]) -> None:
        self.renderers = sorted({renderer, *self.layer_renderers.values()} - {""})
        self.renderer = renderer or self.renderer
        self.cameras = list(cameras)
        self.camera = self.camera if self.camera in self.cameras else (self.cameras[0] if self.cameras else "")
        self.layers = list(layers)
        self.layer = self.layer if self.layer in self.layers else (self.layers[0] if self.layers else "")

    def _prefill_frames(self, frame_range: Any) -> None:
        spec = range_spec(*frame_range) if frame_range else ""
        if spec:
            self.set_frame_text(spec)

    def apply_scene_info(self, info: Any) -> None:
        """Offline scans learn renderer/cameras/layers from the file: fill what the host did not."""
        if self.snapshot is not None or info is None:
            return
        self._choices(info.renderer, info.cameras, list(info.layers) + list(info.rops))
        if not self.frame_text and info.frame_start is not None:
            end = info.frame_end if info.frame_end is not None else info.frame_start
            self._prefill_frames((info.frame_start, end, info.frame_step or 1))
        self._emit("options")

    # -- options -------------------------------------------------------------------------------
    def set_frame_text(self, text: str) -> FrameCheck:
        self.frame_text = text
        self.frame_check = check_frames(text)
        self._emit("frames")
        return self.frame_check

    @property
    def frames(self) -> List[int]:
        return self.frame_check.frames

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

    def set_chunk_size(self, size: int) -> None:
        self.chunk_size = max(1, int(size))
        self._emit("frames")

    def set_placement(self, stage: str, where: str) -> None:
        if stage not in self.placement or where not in PLACES:
            raise ValueError(f"unknown stage/placement {stage}={where}")
        self.placement[stage] = where
        self._emit("options")

    def set_scout(self, on: bool) -> None:
        self.scout = bool(on)
        self._emit("frames")

    def set_priority(self, priority: int) -> None:
        self.priority = int(priority)
        self._emit("options")

    def set_job_name(self, name: str) -> None:
        self.job_name = name
        self._emit("options")

    def set_renderer(self, renderer: str) -> None:
        self.renderer = renderer
        self._emit("options")

    def set_camera(self, camera: str) -> None:
        self.camera = camera
        self._emit("options")

    def set_layer(self, layer: str) -> None:
        """A Houdini ROP brings its own frame range, renderer and camera."""
        self.layer = layer
        if self.layer_frames.get(layer):
            self._prefill_frames(self.layer_frames[layer])
        self.renderer = self.layer_renderers.get(layer) or self.renderer
        camera = self.layer_cameras.get(layer)
        if camera:
            self.camera = camera
            if camera not in self.cameras:
                self.cameras.append(camera)
        self._emit("options")

    def set_allow_missing(self, on: bool) -> None:
        self.allow_missing = bool(on)
        self._emit("busy")

    def job_name_error(self) -> str:
        name = self.job_name.strip()
        if not name:
            return "give the job a name"
        if any(c in name for c in "\r\n\t") or len(name) > MAX_JOB_NAME:
            return f"the job name must be one line of at most {MAX_JOB_NAME} characters"
        return ""

    # -- dependencies --------------------------------------------------------------------------
    def set_dependencies(self, deps: DependencySet, states: Optional[Dict[str, str]] = None,
                         rows: Optional[List[DepRow]] = None, key: Any = None) -> None:
        """Show a scan's files; ``states`` (from resolving against the store) says which are in
        the cloud already. ``rows`` already built by a worker saves the main thread the work.
        ``key`` is the :meth:`scan_key` the scan ran for (default: the form as it is now)."""
        self.dependencies = deps
        self.rows = rows if rows is not None else build_rows(deps, states)
        self._counts = None
        scanned = self.scan_key() if key is None else key
        self.apply_scene_info(deps.info)
        # What was empty when the scan started and the scan itself filled in (the scene's own
        # range, its first layer) describes this very list: no second scan for it.
        self._scanned = tuple(now if was in ("", ()) else was for was, now in zip(scanned, self.scan_key()))
        self._refilter()

    def set_filter(self, text: Optional[str] = None, state: Optional[str] = None) -> None:
        if text is not None:
            self.filter_text = text
        if state is not None:
            if state not in STATE_FILTERS:
                raise ValueError(f"unknown state filter {state!r}")
            self.state_filter = state
        self._refilter()

    def _refilter(self) -> None:
        words = self.filter_text.lower().split()
        state = self.state_filter
        rows = self.rows if state == "all" else [r for r in self.rows if r.state == state]
        for word in words:  # one pass per word, each over fewer rows
            rows = [r for r in rows if word in r.haystack]
        self.visible = list(rows)
        self._emit("rows")

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
        if self.dependencies is None:
            return "Not scanned yet."
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

    def warnings(self) -> List[str]:
        return list(self.dependencies.warnings) if self.dependencies is not None else []

    # -- is the file list the form's? ----------------------------------------------------------
    def scan_key(self) -> Any:
        """What the file list depends on: the scene, the frames, the layer/ROP and the camera.
        Submit sends the list made for exactly this key, never one made for other frames."""
        return (self.scene, tuple(self.frames), self.layer, self.camera)

    @property
    def stale(self) -> bool:
        """The list shown was made for other settings than the form's (Submit is blocked)."""
        return self.dependencies is not None and self._scanned != self.scan_key()

    def needs_rescan(self) -> bool:
        """Whether the panel should scan again by itself (after a short pause in typing): the list
        is stale, the frames are valid, and the last scan of these settings did not fail."""
        return self.stale and not self.frame_check.error and self._scan_failed != self.scan_key()

    # -- long work, handed to a worker ---------------------------------------------------------
    def start(self, stage: str) -> None:
        self.busy, self.error = stage, ""
        self._emit("busy")

    def failed(self, exc: BaseException) -> None:
        """A task raised: show it in plain words and become idle again."""
        if self.busy == "scan":
            self._scan_failed = self.scan_key()
        self.busy, self.error = "", describe_error(exc)
        self._emit("busy")
        self._emit("error")

    def scan_task(self, refresh_host: bool = True) -> Task:
        """Scan (live refs or offline reader) then resolve against the store, in one worker.
        ``refresh_host=False`` when the host snapshot was taken a moment ago."""
        if not self.scene:
            raise CloudSubmitError("open or save a scene first", exit_code=2)
        if refresh_host:
            self._refresh_snapshot()
        scene, snap, services, key = self.scene, self.snapshot, self.services, self.scan_key()
        frames = None if self.frame_check.error else list(self.frames)

        def task(progress: Optional[ProgressCallback]) -> Any:
            deps = services.scan(scene, frames, snap, progress)
            present = [d.path for d in deps.dependencies if d.exists]
            try:
                states, problem = services.resolve(present, progress), ""
            except Cancelled:
                raise
            except CloudSubmitError as exc:  # the file list is still worth showing
                states, problem = {}, "Could not check the cloud: " + exc.message
            return deps, states, build_rows(deps, states), problem, key

        return task

    def _refresh_snapshot(self) -> None:
        """The artist may have fixed paths in the DCC since the panel opened: take the host's file
        list again, keeping the choices made in the panel."""
        if self._host_snapshot is None or self.snapshot is None:
            return
        fresh = self._host_snapshot()
        self.snapshot = dataclasses.replace(self.snapshot, refs=fresh.refs, variables=fresh.variables,
                                            modified=fresh.modified)
        self.modified = fresh.modified

    def scan_done(self, result: Any) -> None:
        deps, states, rows, problem, key = result
        self.busy, self.error = "", problem
        self.set_dependencies(deps, states, rows, key)
        self._emit("busy")

    # -- submit --------------------------------------------------------------------------------
    def submit_blockers(self) -> List[str]:
        """Why Submit is disabled, in plain words (empty when it is enabled)."""
        out = []
        if self.busy:
            out.append(f"wait for {self.busy} to finish")
        if self.frame_check.error:
            out.append(self.frame_check.error)
        if self.job_name_error():
            out.append(self.job_name_error())
        if self.dependencies is None:
            out.append("scan the scene first")
        elif self.stale and not self.frame_check.error:
            out.append("the file list is being updated for the new settings")
        if self.job is not None and self.dependencies is not None and self.request() == self._submitted:
            out.append(f"already submitted as job {self.job.job_id}: change something to submit again")
        missing = self.counts()[MISSING]
        if missing and not self.allow_missing:
            out.append(f"{plural(missing, 'file')} missing: fix the paths, or tick "
                       "\"Submit anyway\" if the render does not need them")
        return out

    def can_submit(self) -> bool:
        return not self.submit_blockers()

    def request(self) -> SubmitRequest:
        return SubmitRequest(
            scene=self.scene, frames=compact(self.frames), chunk_size=self.chunk_size,
            placement=dict(self.placement), scout=self.scout, priority=self.priority,
            job_name=self.job_name.strip(), renderer=self.renderer, camera=self.camera,
            layer=self.layer, allow_missing=self.allow_missing,
        )

    def submit_task(self) -> Task:
        """What Submit does: refuse with the reasons, save the scene if it changed (on this, the
        main, thread), remember the user's choices, then hand the job to a worker."""
        blockers = self.submit_blockers()
        if blockers:
            raise CloudSubmitError("cannot submit: " + "; ".join(blockers), exit_code=2)
        if self.modified and self._save_scene is not None:
            self.scene = self._save_scene() or self.scene
            self.modified = False
            self._emit("scene")
        self.remember()
        request, deps, services = self.request(), self.dependencies, self.services
        assert deps is not None  # submit_blockers() said "scan the scene first" otherwise
        self._submitted = request
        return lambda progress: services.submit(request, deps, progress)

    def remember(self) -> None:
        self.settings = PanelSettings(chunk_size=self.chunk_size, placement=dict(self.placement),
                                      scout=self.scout, priority=self.priority)
        try:
            save_settings(self.settings, self.settings_file)
        except OSError:
            pass  # an unwritable config folder must not block a submission

    def submit_done(self, result: SubmittedJob) -> None:
        self.busy, self.job = "", result
        self.stages = [StageProgress(s) for s in self.placement]
        self._emit("busy")
        self._emit("status")

    # -- after submit --------------------------------------------------------------------------
    def status_task(self) -> Optional[Task]:
        if self.job is None:
            return None
        job, services = self.job.bundle or self.job.job_id, self.services
        return lambda progress: services.status(job)

    def status_done(self, stages: List[StageProgress]) -> None:
        self.stages = list(stages)
        self._emit("status")

    def status_lines(self) -> List[str]:
        if self.job is None:
            return []
        lines = [f"Job {self.job.job_id} submitted." + (f" {self.job.message}" if self.job.message else "")]
        for s in self.stages:
            count = f" {s.done}/{s.total}" if s.total else ""
            lines.append(f"{s.stage}{self._where(s.stage)}: {s.state}{count}")
        return lines

    def _where(self, stage: str) -> str:
        """" (local)" for a stage the panel placed; the job status names post stages
        ``post_<name>`` while the panel's choices use ``<name>``, which printed "post_comp ()"."""
        where = self.placement.get(stage) or self.placement.get(stage[len("post_"):] if stage.startswith("post_") else "")
        return f" ({where})" if where else ""

    def finished(self) -> bool:
        return bool(self.stages) and all(s.state in ("done", "failed") for s in self.stages)
