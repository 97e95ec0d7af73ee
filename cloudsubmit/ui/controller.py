"""The submit panel's logic, with no Qt: a facade over three small models (``models.py``: the
form, the file list, the job) that calls the core's services and tells the widgets which part
changed. The widgets render what this says and call its setters; tests drive it directly.

Long work is handed out as *tasks*: plain callables ``task(progress) -> result`` that a worker
thread runs; the panel calls the matching ``*_done`` method with the result on the main thread.
Host calls (save-before-submit) happen here, on the main thread, never in a task."""
from __future__ import annotations

import dataclasses
import posixpath
from typing import Any, Callable, Dict, List, Optional

from ..errors import Cancelled, CloudSubmitError, NoPool
from ..progress import ProgressCallback, ProgressReport, report
from ..scan.model import DependencySet
from ..scan.readers import HOSTS, scene_extension
from ..vocabulary import IN_STORE, MISSING
from .models import (SCHEDULER_LABELS, STATE_LABELS, FileListModel, FormModel, FrameCheck, JobModel, ProgressModel,
                     Superseded, make_view, plural, row_table, sort_view, state_labels, store_text)
from .services import Partial, Services, StageProgress, SubmitRequest, SubmittedJob
from .settings import PanelSettings, load_scene_memory, load_settings, remember_scene, save_settings

Task = Callable[[Optional[ProgressCallback]], Any]
Listener = Callable[[str], None]
ASYNC_ROWS = 20_000  # from this many files on, a filter or new sort is made on a worker (the UI only swaps it in)
__all__ = ["STATE_LABELS", "SCHEDULER_LABELS", "SubmitController", "describe_error"]
NO_POOL_WORDS = ("No HTCondor pool is reachable from this machine. Use the Local option (Submit to: "
                 f"{SCHEDULER_LABELS['local']}) to render here, or ask your pipeline TD to set up HTCondor.")


class _Via:
    """An attribute of the controller that lives on one of its models (``ctrl.chunk_size`` is
    ``ctrl.form.chunk_size``), so the widgets and tests read one object."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: Optional[type] = None) -> Any:
        return self if obj is None else getattr(getattr(obj, self.model), self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        setattr(getattr(obj, self.model), self.name, value)


def describe_error(exc: BaseException) -> str:
    """An exception as one sentence for an artist: our own errors say what to fix already."""
    if isinstance(exc, Cancelled):
        return "Cancelled."
    if isinstance(exc, NoPool):  # the core's text names a CLI flag; an artist has the Local option
        return NO_POOL_WORDS
    if isinstance(exc, CloudSubmitError):
        return exc.message[:1].upper() + exc.message[1:]
    return f"Something went wrong ({type(exc).__name__}: {exc}). Please send the log to your pipeline TD."


class SubmitController:
    """State of one submit panel: ``form``, ``files`` and ``job_state`` (models.py) behind one
    facade. ``subscribe(fn)`` to hear which part changed: "scene", "frames", "options", "rows",
    "busy", "status", "error", "progress", "presets"."""

    # the widgets and tests read the models' fields through the controller
    frame_text = _Via("form")
    frame_check = _Via("form")
    chunk_size = _Via("form")
    placement = _Via("form")
    scout = _Via("form")
    priority = _Via("form")
    job_name = _Via("form")
    allow_missing = _Via("form")
    renderer = _Via("form")
    renderers = _Via("form")
    camera = _Via("form")
    cameras = _Via("form")
    layer = _Via("form")
    layers = _Via("form")
    layer_frames = _Via("form")
    layer_renderers = _Via("form")
    layer_cameras = _Via("form")
    uses_own_ranges = _Via("form")
    offers_own_ranges = _Via("form")
    scheduler = _Via("form")
    preset = _Via("form")
    chosen_layers = _Via("form")
    chosen_cameras = _Via("form")
    rows = _Via("files")
    visible = _Via("files")
    filter_text = _Via("files")
    state_filter = _Via("files")
    job = _Via("job_state")
    stages = _Via("job_state")

    def __init__(self, services: Services, settings: Optional[PanelSettings] = None,
                 settings_file: Any = None, save_scene: Optional[Callable[[], str]] = None,
                 defaults: Optional[PanelSettings] = None, host_snapshot: Optional[Callable[[], Any]] = None,
                 presets_folder: Any = None, scenes_file: Any = None, clock: Optional[Callable[[], float]] = None) -> None:
        self.services = services
        self.store_url = str(services.extra.get("store_url", ""))
        self.store_line = store_text(self.store_url, str(services.extra.get("embedded_store", "")))
        self.labels = state_labels(self.store_url) if "store_url" in services.extra else dict(STATE_LABELS)
        self.presets_folder, self.scenes_file = presets_folder, scenes_file
        self._host_snapshot = host_snapshot  # asks the live host again (main thread) before a rescan
        self.settings_file = settings_file
        self.settings = settings if settings is not None else load_settings(settings_file, defaults)
        self._save_scene = save_scene
        self._listeners: List[Listener] = []
        self.form = FormModel.from_settings(self.settings)
        self.files = FileListModel(store_word=self.labels[IN_STORE][len("in the "):])
        self.job_state = JobModel()
        self.bars = ProgressModel(clock)
        self.notice = ""  # what just happened, when it is not an error (a bundle exported)
        self.exported: Optional[SubmittedJob] = None
        self.presets: Any = None
        self.presets_problems: List[str] = []
        self._remembered: Dict[str, Any] = {}
        self.reload_presets()
        self.scene = ""
        self.snapshot: Any = None
        self.modified = False
        self.dependencies: Optional[DependencySet] = None
        self.busy = ""  # the stage a worker is running, "" when idle
        self.error = ""
        self._view_generation = 0  # one per filter/sort/list change: an older view is never shown
        self._view_wanted: Optional[int] = None  # the generation a worker must make the view of
        self._view_running = False  # a worker is making a view (one at a time)
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
        self.form.job_name = posixpath.splitext(posixpath.basename(self.scene))[0] if self.scene else ""
        self.dependencies = None
        self.form.own_ranges, self.form.cameras_by_hand = None, False
        self.files.clear()
        self._view_wanted = None  # a view a worker is making for the last scene is not shown
        self.job_state.clear()
        self.bars.clear()
        self.notice = ""
        if snapshot is not None:
            form = self.form
            form.layer_frames = dict(snapshot.layer_frames)
            form.layer_renderers = dict(snapshot.layer_renderers)
            form.layer_cameras = {k: list(v) for k, v in snapshot.layer_cameras.items()}
            form.scene_range = tuple(snapshot.frame_range) if snapshot.frame_range else None
            form.set_choices(snapshot.renderer, snapshot.cameras, snapshot.layers)
            if snapshot.frame_range:
                self.set_frame_text(_spec(snapshot.frame_range))
            if layer in form.layers or (not layer and form.layers):
                self.set_layer(layer or form.layers[0])
        self._recall(explicit_layer=bool(layer))
        self._emit("scene")

    def _recall(self, explicit_layer: bool) -> None:
        """The settings last used for this scene, over the host's defaults; the layers and
        cameras chosen then wait for the scan when the scene is read offline. A layer the artist
        opened the panel on (a ROP's menu) wins over the remembered ones."""
        memory = load_scene_memory(self.scene, self.scenes_file) if self.scene else {}
        if explicit_layer:
            memory.pop("layers", None)
        self._remembered = memory
        if memory:
            self.form.apply_preset(memory, str(memory.get("preset", "")))
            self._recall_choices()

    def _recall_choices(self) -> None:
        """The layers and cameras remembered for this scene, once the scene has named its own (a
        live session: at once; a file read offline: after the first scan). Each is applied once:
        a later rescan must not undo what the artist has changed since."""
        memory, form = self._remembered, self.form
        if form.layers and "layers" in memory:
            if [n for n in memory["layers"] if n in form.layers]:
                form.set_layers(memory["layers"])
                if memory.get("frames"):  # one ROP's own range must not replace the frames remembered
                    form.set_frame_text(memory["frames"])
            if isinstance(memory.get("own_ranges"), bool):
                form.own_ranges = memory["own_ranges"]
            memory.pop("layers")
        if form.cameras and "cameras" in memory:
            if [c for c in memory["cameras"] if c in form.cameras]:
                form.set_cameras(memory["cameras"])
            memory.pop("cameras")

    @property
    def host_kind(self) -> str:
        """"maya", "houdini" (live or by the file's extension) or "" for other scene files."""
        if self.snapshot is not None:
            return self.snapshot.host
        kind = HOSTS.get(scene_extension(self.scene), "")
        return kind if kind in ("maya", "houdini") else ""

    def apply_scene_info(self, info: Any) -> None:
        """Offline scans learn renderer/cameras/layers from the file: fill what the host did not."""
        if self.snapshot is not None or info is None:
            return
        self.form.layer_frames = dict(info.layer_frames) or self.form.layer_frames
        self.form.layer_cameras = {k: list(v) for k, v in info.layer_cameras.items()} or self.form.layer_cameras
        if info.frame_start is not None:
            end = info.frame_end if info.frame_end is not None else info.frame_start
            self.form.scene_range = (float(info.frame_start), float(end), float(info.frame_step or 1))
        self.form.set_choices(info.renderer, info.cameras, list(info.layers) + list(info.rops))
        if not self.form.frame_text and info.frame_start is not None:
            end = info.frame_end if info.frame_end is not None else info.frame_start
            self.set_frame_text(_spec((info.frame_start, end, info.frame_step or 1)))
        self._recall_choices()
        self._emit("options")

    # -- options: the form model, then who must redraw -----------------------------------------
    def set_frame_text(self, text: str) -> FrameCheck:
        check = self.form.set_frame_text(text)
        self._emit("frames")
        return check

    @property
    def frames(self) -> List[int]:
        return self.form.frames

    def frames_summary(self) -> str:
        return self.form.frames_summary()

    def set_chunk_size(self, size: int) -> None:
        self.form.chunk_size = max(1, int(size))
        self._emit("frames")

    def set_placement(self, stage: str, where: str) -> None:
        self.form.set_placement(stage, where)
        self._emit("options")

    def set_scout(self, on: bool) -> None:
        self.form.scout = bool(on)
        self._emit("frames")

    def set_priority(self, priority: int) -> None:
        self.form.priority = int(priority)
        self._emit("options")

    def set_job_name(self, name: str) -> None:
        self.form.job_name = name
        self._emit("options")

    def set_renderer(self, renderer: str) -> None:
        self.form.renderer = renderer
        self._emit("options")

    def set_camera(self, camera: str) -> None:
        self.form.camera = camera
        self._emit("options")

    def set_cameras(self, cameras: List[str]) -> None:
        """Several cameras: one group of render nodes each."""
        self.form.set_cameras(cameras)
        self._emit("options")

    def set_layers(self, layers: List[str]) -> None:
        """Several layers (ROPs): one group of render nodes each; one alone brings its range, and
        several with ranges of their own each render theirs (see :meth:`set_own_ranges`)."""
        self.form.set_layers(layers)
        self._emit("frames")
        self._emit("options")

    def set_own_ranges(self, on: bool) -> None:
        """"Each layer renders its own frame range" (on), or the Frames field for every layer (off)."""
        self.form.set_own_ranges(on)
        self._emit("frames")
        self._emit("options")

    def set_scheduler(self, scheduler: str) -> None:
        if scheduler not in SCHEDULER_LABELS:
            raise ValueError(f"unknown scheduler {scheduler!r}")
        self.form.scheduler = scheduler
        self._emit("options")

    # -- presets -------------------------------------------------------------------------------
    def reload_presets(self) -> None:
        """The show's presets (the config's ``jobs.presets``) and the user's files; a bad file is
        one line in ``presets_problems``, the other presets stay usable."""
        from ..presets import load_presets

        self.presets = load_presets(self.services.extra.get("config"), self.presets_folder)
        self.presets_problems = [exc.message for _n, exc in sorted(self.presets.problems.items())]
        self._emit("presets")

    def preset_names(self) -> List[str]:
        return self.presets.names()

    def apply_preset(self, name: str) -> None:
        """Fill the form from preset ``name`` ("" = none: the form stays as it is)."""
        if not name:
            self.form.preset = ""
            self._emit("options")
            return
        try:
            preset = self.presets.find(name)
        except CloudSubmitError as exc:
            self.error = describe_error(exc)
            self._emit("error")
            return
        self.form.apply_preset(preset.settings, name)
        self._emit("frames")
        self._emit("options")

    def save_preset(self, name: str) -> str:
        """"Save as preset...": the form's show-wide settings as the user's preset ``name``;
        returns the file written (raises ConfigError for a bad name)."""
        from ..presets import save_preset

        path = save_preset(name.strip(), self.form.preset_settings(), self.presets_folder)
        self.reload_presets()
        self.form.preset = name.strip()
        self.notice, self.error = f"Preset {name.strip()!r} saved to {path}.", ""
        self._emit("options")
        self._emit("busy")
        return str(path)

    def set_layer(self, layer: str) -> None:
        """A Houdini ROP brings its own frame range, renderer and camera."""
        self.form.set_layer(layer)
        if self.form.layer_frames.get(layer):  # the ROP's own range went into the frame field
            self._emit("frames")
        self._emit("options")

    def set_allow_missing(self, on: bool) -> None:
        self.form.allow_missing = bool(on)
        self._emit("busy")

    def job_name_error(self) -> str:
        return self.form.job_name_error()

    # -- dependencies: the file list model -----------------------------------------------------
    def set_dependencies(self, deps: DependencySet, states: Optional[Dict[str, str]] = None,
                         rows: Optional[List[Any]] = None, key: Any = None) -> None:
        """Show a scan's files; ``states`` (from resolving against the store) says which are in
        the cloud already. ``rows`` already built by a worker saves the main thread the work.
        ``key`` is the :meth:`scan_key` the scan ran for (default: the form as it is now)."""
        # The scan without its file records: the rows hold them (``RowTable.records``), and
        # 100,000 objects kept here would make every full collection, on whatever thread, longer.
        self.dependencies = dataclasses.replace(deps, dependencies=[])
        self._set_rows(row_table(deps, states) if rows is None else rows)
        scanned = self.scan_key() if key is None else key
        self.apply_scene_info(deps.info)
        # What was empty when the scan started and the scan itself filled in (the scene's own
        # range, its first layer) describes this very list: no second scan for it.
        self._scanned = tuple(now if was in ("", ()) else was for was, now in zip(scanned, self.scan_key()))
        self._emit("rows")

    # -- is the file list the form's? ----------------------------------------------------------
    def scan_key(self) -> Any:
        """What the file list depends on: the scene, the frames, the layer/ROP and the camera.
        Submit sends the list made for exactly this key, never one made for other frames."""
        return (self.scene, tuple(self.frames), tuple(self.form.chosen_layers), tuple(self.form.chosen_cameras))

    @property
    def stale(self) -> bool:
        """The list shown was made for other settings than the form's (Submit is blocked)."""
        return self.dependencies is not None and self._scanned != self.scan_key()

    def needs_rescan(self) -> bool:
        """Whether the panel should scan again by itself (after a short pause in typing): the list
        is stale, the frames are valid, and the last scan of these settings did not fail."""
        return self.stale and not self.form.frames_error and self._scan_failed != self.scan_key()

    def _set_rows(self, rows: Any) -> None:
        """A new list, shown with the artist's filter and sort: at once when that costs no pass,
        else the view follows from a worker (the previous rows stay shown meanwhile)."""
        self.files.set_rows(rows, refilter=False)
        self._refresh_view(emit=False)

    def set_filter(self, text: Optional[str] = None, state: Optional[str] = None) -> None:
        self.files.set_filter(text, state, refilter=False)
        self._refresh_view()

    def sort_rows(self, column: int, descending: bool = False) -> None:
        """The table's sort, kept across filters and rescans (state ascending is the scan's order)."""
        self.files.sort = None if (column, descending) == (0, False) else (int(column), bool(descending))
        self._refresh_view()

    def select_rows(self, ranges: Any) -> None:
        """The rows the artist selected, as (first, last) positions in ``visible``: a new view
        (a filter, a sort) selects the same files again where they are in it."""
        self.files.select(tuple((int(first), int(last)) for first, last in ranges))

    @property
    def filtering(self) -> bool:
        """A worker is making the view the artist asked for; the rows shown are the previous ones."""
        return self._view_wanted is not None

    def _refresh_view(self, emit: bool = True) -> None:
        """The view for the filter and sort. A small list, or one whose view costs no pass (nor
        a selection to carry), is made here; a big one on a worker (:meth:`view_task`, the "view" topic), so the UI thread
        only swaps the answer in. Every request has a new generation: an answer made for an
        older one (typing on, another table) is dropped, never shown."""
        files = self.files
        self._view_generation += 1
        if len(files.table) < ASYNC_ROWS or (files.at_once() and not files.selection.ranges):
            self._view_wanted = None
            files.refilter()
            if emit:
                self._emit("rows")
            return
        self._view_wanted = self._view_generation
        self._emit("view")

    def view_task(self) -> Optional[Task]:
        """The view wanted, made on a worker, or None when none is wanted or a worker is making
        one already (its end starts the next, for the latest request). The worker stops early
        once a newer request supersedes its own."""
        wanted = self._view_wanted
        if wanted is None or self._view_running:
            return None
        self._view_running = True
        request = self.files.view_request()

        def stale() -> bool:
            return self._view_wanted != wanted

        def task(progress: Optional[ProgressCallback]) -> Any:
            try:
                return wanted, request, make_view(request, stale)
            except Superseded:
                return wanted, request, None

        return task

    def view_done(self, result: Any) -> None:
        """Swap the worker's view in if it is still the one wanted (same generation, and the
        selection it carried is still the artist's); else ask for the latest one."""
        wanted, request, view = result
        self._view_running = False
        files = self.files
        if view is not None and wanted == self._view_wanted and request.made_for[0] is files.table \
                and request.selection is files.selection:
            self._view_wanted = None
            files.show(view)
            self._emit("rows")
        elif self._view_wanted is not None:
            self._emit("view")

    def view_failed(self, exc: BaseException) -> None:
        self._view_running = False
        self._view_wanted = None
        self.error = describe_error(exc)
        self._emit("error")
        self._emit("rows")  # the rows shown stay; the totals no longer say "filtering"

    def counts(self) -> Dict[str, int]:
        return self.files.counts()

    def totals_text(self) -> str:
        """"132 files, 120 already in the cloud, 12 to upload, 1.2 GB, 1 missing", and
        " (filtering...)" while a worker makes the view asked for (the rows shown are the last)."""
        if self.dependencies is None:
            return "Not scanned yet."
        return self.files.totals_text() + (" (filtering...)" if self.filtering else "")

    def warnings(self) -> List[str]:
        return list(self.dependencies.warnings) if self.dependencies is not None else []

    # -- long work, handed to a worker ---------------------------------------------------------
    def start(self, stage: str) -> None:
        self.busy, self.error, self.notice = stage, "", ""
        self.bars.clear()
        self._emit("busy")

    def _done_bars(self) -> None:
        """A task's bars go when it ends; the job's come back with the next status read."""
        self.bars.clear()
        self.bars.job_stages(self.job_state.stages, self.form.placement)
        self._emit("progress")

    def progress(self, rep: ProgressReport) -> None:
        """A worker's report (on the main thread): its stage's bar, with speed and time left."""
        self.bars.report(rep)
        self._emit("progress")

    def failed(self, exc: BaseException) -> None:
        """A task raised: show it in plain words and become idle again."""
        if self.busy == "scan":
            self._scan_failed = self.scan_key()
        self.busy, self.error = "", describe_error(exc)
        self._done_bars()
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
        frames = None if self.form.frames_error else list(self.frames)
        sort = self.files.sort  # the artist's sort order, made with the checked list

        def task(progress: Optional[ProgressCallback]) -> Any:
            deps = services.scan(scene, frames, snap, progress)
            n = len(deps.dependencies)  # the files as scanned, shown before the store check
            report(progress, Partial("scan", n, n, message="checking the store", value=(deps, row_table(deps), key)))
            present = [d.path for d in deps.dependencies if d.exists]
            try:
                states, problem = services.resolve(present, progress), ""
            except Cancelled:
                raise
            except CloudSubmitError as exc:  # the file list is still worth showing
                states, problem = {}, "Could not check the cloud: " + exc.message
            table = row_table(deps, states)
            if sort is not None:
                sort_view(table, *sort)
            scanned = dataclasses.replace(deps, dependencies=[])  # the table holds the records now
            del deps, present  # so the 100,000 records are freed here, not on the UI thread with the result
            return scanned, states, table, problem, key

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

    def scan_partial(self, partial: Any) -> None:
        """The scanned files while the store check goes on: shown as "checking" (Submit waits)."""
        if isinstance(partial, Partial) and self.busy == "scan":
            deps, table, key = partial.value
            self.set_dependencies(deps, None, table, key)

    def scan_done(self, result: Any) -> None:
        deps, states, rows, problem, key = result
        self.busy, self.error = "", problem
        self._done_bars()
        self.set_dependencies(deps, states, rows, key)
        self._emit("busy")

    # -- submit --------------------------------------------------------------------------------
    def submit_blockers(self, exporting: bool = False) -> List[str]:
        """Why Submit (or, ``exporting``, Export bundle) is disabled, in plain words (empty when
        it is enabled)."""
        out = []
        if self.busy:
            out.append(f"wait for {self.busy} to finish")
        if self.form.frames_error:
            out.append(self.form.frames_error)
        if self.job_name_error():
            out.append(self.job_name_error())
        if self.dependencies is None:
            out.append("scan the scene first")
        elif self.stale and not self.form.frames_error:
            out.append("the file list is being updated for the new settings")
        done = self.job_state
        if not exporting and done.job is not None and self.dependencies is not None and self.request() == done.submitted:
            out.append(f"already submitted as job {done.job.job_id}: change something to submit again")
        missing = self.counts()[MISSING]
        if missing and not self.form.allow_missing:
            out.append(f"{plural(missing, 'file')} missing: fix the paths, or tick "
                       "\"Submit anyway\" if the render does not need them")
        return out

    def can_submit(self) -> bool:
        return not self.submit_blockers()

    def request(self) -> SubmitRequest:
        return self.form.request(self.scene)

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
        request, services, scanned = self.request(), self.services, self._scanned_set()
        self.job_state.submitted = request
        return lambda progress: services.submit(request, scanned(), progress)

    def export_task(self) -> Task:
        """Export bundle: what ``submit --dry-run`` does (the bundle written, nothing submitted,
        the store not contacted); ``cloudsubmit resubmit BUNDLE`` submits it later."""
        blockers = self.submit_blockers(exporting=True)
        if blockers:
            raise CloudSubmitError("cannot export: " + "; ".join(blockers), exit_code=2)
        self.remember()
        request = dataclasses.replace(self.request(), dry_run=True)
        services, scanned = self.services, self._scanned_set()
        return lambda progress: services.submit(request, scanned(), progress)

    def _scanned_set(self) -> Callable[[], DependencySet]:
        """What the worker calls to have the shown scan with its file records back (rebuilt
        from the rows there, not on the UI thread)."""
        shell, table = self.dependencies, self.files.table
        assert shell is not None  # submit_blockers() said "scan the scene first" otherwise
        return lambda: dataclasses.replace(shell, dependencies=table.records())

    def export_done(self, result: SubmittedJob) -> None:
        self.busy, self.error = "", ""
        self._done_bars()
        self.exported = result
        self.notice = (f"Bundle written to {result.bundle}, nothing submitted. "
                       f"`cloudsubmit resubmit {result.bundle}` submits it.")
        self._emit("busy")

    def remember(self) -> None:
        """The user's choices for the next panel, and this scene's for the next time it is opened."""
        self.settings = self.form.settings()
        form = self.form
        memory = dict(form.preset_settings(), layers=list(form.chosen_layers), preset=form.preset,
                      cameras=list(form.chosen_cameras) if form.cameras_by_hand else [])
        if form.own_ranges is not None:
            memory["own_ranges"] = form.own_ranges
        try:
            save_settings(self.settings, self.settings_file)
            if self.scene:
                remember_scene(self.scene, memory, self.scenes_file)
        except OSError:
            pass  # an unwritable config folder must not block a submission

    def submit_done(self, result: SubmittedJob) -> None:
        self.busy = ""
        self.job_state.submitted_as(result, self.form.placement)
        self.bars.clear()
        self._emit("busy")
        self._emit("status")

    def output_folder(self) -> str:
        """Where "Open folder" goes: the job's output folder (or the nearest one that exists);
        an exported bundle's before anything is submitted."""
        if self.job_state.job is None and self.exported is not None:
            return JobModel(job=self.exported).output_folder()
        return self.job_state.output_folder()

    # -- after submit: the job model -----------------------------------------------------------
    def status_task(self) -> Optional[Task]:
        job = self.job_state.job
        if job is None:
            return None
        ref, services = job.bundle or job.job_id, self.services
        return lambda progress: services.status(ref)

    def status_done(self, stages: List[StageProgress]) -> None:
        self.job_state.stages = list(stages)
        self.bars.job_stages(self.job_state.stages, self.form.placement)
        self._emit("status")
        self._emit("progress")

    def status_lines(self) -> List[str]:
        return self.job_state.status_lines(self.form.placement)

    def finished(self) -> bool:
        return self.job_state.finished()


def _spec(frame_range: Any) -> str:
    from ..frames import range_spec

    return range_spec(*frame_range)
