"""The submit panel's state as three small models, with no Qt and no notification: the form (what
the artist chose), the file list (the scan's rows, the filter, the counts) and the job (what was
submitted and how far it got). ``SubmitController`` is the facade that owns one of each, calls
the services and tells the widgets what changed, as ayon-core's tools split model and controller.

Each model is plain data with the rules that belong to it, so it is tested on its own."""
from __future__ import annotations

import math
import operator
import re
import threading
import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain, compress, repeat
from operator import attrgetter
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from ..errors import FrameSpecError
from ..frames import compact, parse_frames, range_frames, range_spec, scout_frames
from ..progress import ProgressMeter, ProgressReport, progress_text
from ..scan.model import Dependency, DependencySet
from ..units import human_size
from ..vocabulary import IN_STORE, MISSING, TO_UPLOAD, UNKNOWN, place_choices
from .services import StageProgress, SubmitRequest, SubmittedJob
from .settings import PanelSettings

STATE_FILTERS = ("all", IN_STORE, TO_UPLOAD, MISSING)
ROW_ORDER = {MISSING: 0, TO_UPLOAD: 1, UNKNOWN: 2, IN_STORE: 3}  # what needs the artist first
MAX_JOB_NAME = 80
STATE_LABELS = {IN_STORE: "in the cloud", TO_UPLOAD: "to upload", MISSING: "missing", UNKNOWN: "checking"}
SCHEDULER_LABELS = {"htcondor": "HTCondor pool", "local": "Local (this machine)"}


def is_folder_store(store_url: str) -> bool:
    """A ``file://`` store (or the embedded default, "") is a folder: nothing leaves the building."""
    return not store_url or store_url.startswith("file://")


def state_labels(store_url: str) -> Dict[str, str]:
    """The words for the file states: a store that is a folder is "the team store", not "the
    cloud" (an artist would think their files had left the building)."""
    if is_folder_store(store_url):
        return dict(STATE_LABELS, **{IN_STORE: "in the team store"})
    return dict(STATE_LABELS)


def store_text(store_url: str, embedded: str = "") -> str:
    """"Team store: s3://bucket/prefix", "Team store: /srv/store (a folder)", or for the embedded
    default (``store_url`` "") its folder ``embedded`` "on this machine only"."""
    if not store_url:
        return f"Team store: {embedded} (this machine's own folder: set store.url to share it)" if embedded else ""
    if store_url.startswith("file://"):
        return f"Team store: {store_url[len('file://'):]} (a folder)"
    return f"Team store: {store_url}"


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


class DepRow(NamedTuple):
    """One line of the dependency view, made when it is read (see :class:`Rows`)."""

    path: str
    state: str
    size: Optional[int]
    source: str
    kind: str
    haystack: str = ""  # lower-cased path + source, for the filter box


@dataclass
class RowSummary:
    """Files per state and the bytes the totals line sums, counted once by the worker that built
    the table: at 100,000 files the UI thread must not walk the list for a label."""

    counts: Dict[str, int]
    upload_bytes: int = 0
    known_bytes: int = 0  # every file that exists (the size to send before the store answered)


class RowTable:
    """A scan's files as columns stored in the scan's order (what needs the artist first), so row
    ``i`` is the ``i``-th line of the unsorted view: no object per row. Each column is a *tuple*
    of strings and ints, built once and replaced, never mutated: CPython's collector untracks a
    tuple that holds only atomic objects, so a full collection (which any thread's allocations
    can start, holding the GIL, while the UI thread waits) skips it, where it walked every item
    of a list (about 12 ms per 1,000,000 items here). Built by a worker (``row_table``). The sort
    orders the artist asked for are kept (``views``): sorting by a column a second time, or
    filtering a sorted list, costs no sort."""

    path: Tuple[str, ...]
    state: Tuple[str, ...]
    size: Tuple[Optional[int], ...]
    source: Tuple[str, ...]
    kind: Tuple[str, ...]
    haystack: Tuple[str, ...]  # lower-cased path + source, for the filter box
    # the rest of each scan record, so the panel keeps no Dependency object (see ``records``)
    exists: Tuple[bool, ...]
    problem: Tuple[str, ...]
    origin: Tuple[str, ...]  # the source as scanned (``source`` says the problem too)

    def __init__(self, rows: Sequence = (), order: Optional[Sequence[int]] = None) -> None:
        rows = list(rows)
        haystacks = [r.haystack or (r.path + "\n" + r.source).lower() for r in rows]
        sources = [r.source for r in rows]
        self._store({"path": [r.path for r in rows], "state": [r.state for r in rows],
                     "size": [r.size for r in rows], "source": sources, "kind": [r.kind for r in rows],
                     "haystack": haystacks, "exists": [r.state != MISSING for r in rows],
                     "problem": [""] * len(rows), "origin": sources}, order)

    @classmethod
    def from_columns(cls, columns: Dict[str, List[Any]], order: Optional[Sequence[int]] = None) -> "RowTable":
        """A table of ``columns`` (lists by name, as a worker gathered them), rows in ``order``."""
        table = cls.__new__(cls)
        table._store(columns, order)
        return table

    def _store(self, columns: Dict[str, List[Any]], order: Optional[Sequence[int]]) -> None:
        """Each column as a tuple, rows in ``order`` (default: as given), one C-level pass each."""
        for name in _STORED:
            column = columns[name]
            setattr(self, name, tuple(column) if order is None else tuple(map(column.__getitem__, order)))
        self.order = array("l", range(len(self.path)))  # the scan's order: every row, as stored
        self.scanned = array("l", range(len(self.path)) if order is None else order)  # row -> record number
        self.views: Dict[Tuple[int, bool], array] = {}  # (column, descending) -> row numbers
        self.summary = summarise(self)
        # made here, on the worker that builds the table, so the state filter is no pass at all
        self.state_masks = {s: bytes(map(operator.eq, self.state, repeat(s))) for s in self.summary.counts}

    def __len__(self) -> int:
        return len(self.path)

    def row(self, i: int) -> DepRow:
        return DepRow(self.path[i], self.state[i], self.size[i], self.source[i], self.kind[i], self.haystack[i])

    def records(self) -> List[Dependency]:
        """The scan's file records again, in the order the scan gave them (what Submit sends).
        Kept as 100,000 objects they cost every full collection about 20 ms more (each is a
        tracked container); rebuilt on the submit worker in slices, they cost it nothing."""
        rows = sorted_in_steps(range(len(self.path)), self.scanned.__getitem__)
        fields = (self.path, self.exists, self.size, self.kind, self.origin, self.problem)
        out: List[Dependency] = []
        for start in range(0, len(rows), STEP):
            part = rows[start:start + STEP]
            out += map(Dependency, *(map(column.__getitem__, part) for column in fields))
            hand_over()
        return out


_STORED = ("path", "state", "size", "source", "kind", "haystack", "exists", "problem", "origin")
STEP = 5000  # rows one C-level call handles at a time on a worker (each call holds the GIL whole)


def _columns(deps: DependencySet, states: Optional[Dict[str, str]]) -> RowTable:
    """The table in the scan's order (what needs the artist first). A file that does not exist is
    missing whatever the store says; an incomplete one (a referenced scene cut short) as well.
    Built in slices of ``STEP`` files, each a few C-level passes, so the worker never holds the
    GIL long enough for the UI thread to notice (a Python loop per file took 0.35 s for 100k)."""
    columns: Dict[str, List[Any]] = {name: [] for name in _STORED}
    found = deps.dependencies
    for start in range(0, len(found), STEP):
        _add_slice(columns, found[start:start + STEP], states or {})
        hand_over()
    order = sorted_in_steps(range(len(found)), _scan_keys(columns["state"], columns["path"]).__getitem__)
    return RowTable.from_columns(columns, order)


def hand_over() -> None:
    """On a worker, give the GIL up between two slices of work: a UI thread waiting for it takes
    it now instead of at the end of the interpreter's switch interval (5 ms). On the main thread
    (a small list sorted in place) this does nothing: the UI thread keeps what it holds."""
    if threading.current_thread() is not threading.main_thread():
        time.sleep(0)


def _add_slice(columns: Dict[str, List[Any]], deps: List[Any], states: Dict[str, str]) -> None:
    paths = list(map(_PATH, deps))
    sources = list(map(_SOURCE, deps))
    problems = list(map(_PROBLEM, deps))
    if any(problems):
        sources = [f"{s}; {p}" if p else s for s, p in zip(sources, problems)]
    known = list(map(states.get, paths, repeat(UNKNOWN)))
    gone = [not d.exists or bool(p) for d, p in zip(deps, problems)]
    columns["path"] += paths
    columns["state"] += [MISSING if g else s for g, s in zip(gone, known)] if any(gone) else known
    columns["size"] += map(_SIZE, deps)
    columns["source"] += sources
    columns["origin"] += map(_SOURCE, deps)
    columns["exists"] += map(_EXISTS, deps)
    columns["problem"] += problems
    columns["kind"] += map(_KIND, deps)
    columns["haystack"] += map(str.lower, map(_JOIN, zip(paths, sources)))


_PATH, _SOURCE, _PROBLEM = attrgetter("path"), attrgetter("source"), attrgetter("problem")
_SIZE, _KIND, _EXISTS, _JOIN = attrgetter("size"), attrgetter("kind"), attrgetter("exists"), "\n".join


def _scan_keys(states: Sequence[str], paths: Sequence[str]) -> List[str]:
    """What needs the artist first, then the path: one string per row (nothing for the GC to track)."""
    rank = {s: str(n) for s, n in ROW_ORDER.items()}
    return list(map(operator.add, map(rank.__getitem__, states), paths))


def sorted_in_steps(items: Any, key: Any, reverse: bool = False) -> List[Any]:
    """``sorted(items, key=key, reverse=reverse)`` as C-level sorts of at most ``2 * STEP`` items:
    runs of ``STEP`` sorted, then merged pairwise a slice at a time (:func:`_merge`). A worker
    sorting 100,000 paths in one C call would hold the GIL, and freeze the UI thread, for 0.1 s;
    between two slices the UI thread gets its turn."""
    items = list(items)
    if reverse:  # sorted(x, reverse=True) keeps equal items in their order, as this does
        return sorted_in_steps(items[::-1], key)[::-1]
    runs = []
    for s in range(0, len(items), STEP):
        runs.append(sorted(items[s:s + STEP], key=key))
        hand_over()
    runs = runs or [[]]
    while len(runs) > 1:
        runs = [_merge(runs[i], runs[i + 1], key) if i + 1 < len(runs) else runs[i] for i in range(0, len(runs), 2)]
    return runs[0]


def _merge(a: List[Any], b: List[Any], key: Any) -> List[Any]:
    """Two sorted runs as one, ``a``'s items before ``b``'s equal ones (a stable sort's order):
    each step takes ``STEP`` items of the run whose ``STEP``-th key is smaller, and the other
    run's items that belong before them (found by bisection), and sorts that slice in C."""
    ka, kb = list(map(key, a)), list(map(key, b))
    out: List[Any] = []
    i = j = 0
    while i < len(a) and j < len(b):
        ea, eb = min(i + STEP, len(a)), min(j + STEP, len(b))
        if ka[ea - 1] <= kb[eb - 1]:  # a's slice, and b's items below its last key
            eb = bisect_left(kb, ka[ea - 1], j)
        else:  # b's slice, and a's items up to (and equal to) its last key
            ea = bisect_right(ka, kb[eb - 1], i)
        out += sorted(a[i:ea] + b[j:eb], key=key)
        i, j = ea, eb
        hand_over()
    return out + a[i:] + b[j:]


def row_table(deps: DependencySet, states: Optional[Dict[str, str]] = None) -> RowTable:
    return _columns(deps, states)


def build_rows(deps: DependencySet, states: Optional[Dict[str, str]] = None) -> List[DepRow]:
    """The dependency view's rows, sorted, as a list (for scripts and tests; the panel keeps the
    columns of :func:`row_table`)."""
    table = _columns(deps, states)
    return [table.row(i) for i in table.order]


def summarise(table: RowTable) -> RowSummary:
    counts = {IN_STORE: 0, TO_UPLOAD: 0, MISSING: 0, UNKNOWN: 0}
    upload = known = 0
    for state, size in zip(table.state, table.size):
        counts[state] += 1
        if state != MISSING:
            known += size or 0
            if state == TO_UPLOAD:
                upload += size or 0
    return RowSummary(counts, upload, known)


class Rows(Sequence):
    """Rows of a table in a given order (an ``array`` of row numbers), each made when read:
    the view asks only for the rows on screen."""

    def __init__(self, table: RowTable, order: Optional[array] = None) -> None:
        self.table = table
        self.order = table.order if order is None else order

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self.table.row(j) for j in self.order[i]]
        return self.table.row(self.order[i])


# State sorts by what needs the artist first (missing, to upload, ...), as the scan orders rows.
_SORT_COLUMNS = ("state", "path", "size", "source")


def sort_view(table: RowTable, column: int, descending: bool) -> array:
    """Every row number in (column, descending) order, kept on the table once made. Sorting runs
    in steps (:func:`sorted_in_steps`): a worker computes it for a big list when the artist first
    sorts by that column; a column seen once is sorted again at no cost."""
    view = table.views.get((column, descending))
    if view is None:
        if column == 0:  # the stored order is the state order, paths within a state ascending
            view = table.order[::-1] if descending else table.order
        else:
            values: Any = getattr(table, _SORT_COLUMNS[column])
            if column == 2:
                values = [s or 0 for s in values]  # a missing file's unknown size sorts as 0
            view = array("l", sorted_in_steps(table.order, values.__getitem__, descending))
        table.views[(column, descending)] = view
    return view


def has_view(table: RowTable, sort: Optional[Tuple[int, bool]]) -> bool:
    """Whether showing ``sort`` needs no sorting (the scan's order, a state sort, one made before)."""
    return sort is None or sort[0] == 0 or sort in table.views


class Superseded(Exception):
    """A view a worker was making is no longer wanted (the artist typed on, or a rescan
    replaced the list): it stops at its next slice instead of finishing for nothing."""


def _never_stale() -> bool:
    return False


def filtered(table: RowTable, text: str, state: str, sort: Optional[Tuple[int, bool]] = None,
             within: Optional[array] = None, stale: Callable[[], bool] = _never_stale) -> array:
    """The row numbers the table shows: of ``state`` ("all" = every one), holding every word of
    ``text`` in their path or source, in ``sort`` (column, descending) order or the scan's;
    ``within``: only these rows (already in that order, a superset of the answer: what a shorter
    text showed). ``stale()`` true between two slices raises :class:`Superseded`.

    Each condition is a byte mask made in C-level calls (a state's is made with the table, a
    word's is one ``map`` of ``str.__contains__``; two are ANDed as big integers, see ``both``),
    and the rows are picked from the sort order with ``itertools.compress``: no Python call per
    row. A big list's view is made on a worker (the panel's controller), ``STEP`` rows per call,
    so neither the UI thread nor a worker holding the GIL keeps the other waiting long.
    (One joined string of every row searched with ``str.split`` was tried for rare words: 8 MB
    more per table for 1-2 ms less per keystroke, and none on the first one, whose string is cold.)"""
    words = list(dict.fromkeys(text.lower().split()))
    if within is not None:
        return _narrowed(table, within, words, state, stale)
    base = table.order if sort is None else sort_view(table, *sort)
    if state == "all" and not words:
        return base
    parts = []
    for start in range(0, len(table), STEP):
        end = start + STEP
        mask: Any = table.state_masks[state][start:end] if state != "all" else None
        for word in words:
            hits = bytes(map(operator.contains, table.haystack[start:end], repeat(word)))
            mask = hits if mask is None else both(mask, hits)
        parts.append(mask)
        _next_slice(stale)
    return _picked(base, b"".join(parts), stale)


def _next_slice(stale: Callable[[], bool]) -> None:
    hand_over()
    if stale():
        raise Superseded()


def _picked(rows: array, mask: bytes, stale: Callable[[], bool]) -> array:
    """``rows`` (row numbers, in their order) whose byte in ``mask`` is set, a slice at a time."""
    out = array("l")
    for start in range(0, len(rows), STEP):
        part = rows[start:start + STEP]
        out.extend(compress(part, map(mask.__getitem__, part)))
        _next_slice(stale)
    return out


def both(a: Any, b: Any) -> bytes:
    """Two masks of 0/1 bytes ANDed, as two big integers (one C call, not one per row)."""
    if not a:
        return bytes(a)
    return (int.from_bytes(a, "little") & int.from_bytes(b, "little")).to_bytes(len(a), "little")


def _narrowed(table: RowTable, rows: array, words: List[str], state: str, stale: Callable[[], bool]) -> array:
    """``rows`` (in their order) that are of ``state`` and hold every word: passes over them only."""
    out = array("l")
    for start in range(0, len(rows), STEP):
        part = rows[start:start + STEP]
        if state != "all":
            part = array("l", compress(part, map(operator.eq, map(table.state.__getitem__, part), repeat(state))))
        for word in words:
            hay = map(table.haystack.__getitem__, part)
            part = array("l", compress(part, map(operator.contains, hay, repeat(word))))
        out.extend(part)
        _next_slice(stale)
    return out


Ranges = Tuple[Tuple[int, int], ...]  # (first, last) positions in a view, both included


@dataclass(frozen=True)
class Selection:
    """The rows the artist selected, as the view reported them: ``ranges`` of positions in
    ``order`` (the view shown then) of ``table``. Kept so, not as a set of rows: selecting all
    100,000 rows is one range, and costs the UI thread nothing to record."""

    table: Optional[RowTable] = None
    order: array = field(default_factory=lambda: array("l"))
    ranges: Ranges = ()


def carried_selection(selection: Selection, table: RowTable, order: array) -> Ranges:
    """The same rows, where they are in the new view ``order`` of ``table`` (a filter hides
    some, a sort moves them): the ranges of positions to select. A new table (a rescan) keeps
    no selection. C-level passes: the rows as a set, one membership map, runs found by a regex."""
    if selection.table is not table or not selection.ranges:
        return ()
    chosen = set(chain.from_iterable(selection.order[first:last + 1] for first, last in selection.ranges))
    hand_over()
    flags = bytes(map(chosen.__contains__, order))
    return tuple((m.start(), m.end() - 1) for m in re.finditer(b"\x01+", flags))


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
    cameras: List[str] = field(default_factory=list)
    layers: List[str] = field(default_factory=list)
    layer_frames: Dict[str, Any] = field(default_factory=dict)
    layer_renderers: Dict[str, str] = field(default_factory=dict)
    layer_cameras: Dict[str, List[str]] = field(default_factory=dict)  # the cameras each layer (ROP) renders
    scene_range: Optional[Tuple[float, float, float]] = None  # the scene's own render range
    own_ranges: Optional[bool] = None  # "each layer renders its own range" as ticked (None: on when they differ)
    cameras_by_hand: bool = False  # the artist ticked cameras: they no longer follow the layers
    scheduler: str = "htcondor"
    preset: str = ""  # the preset last applied ("" = none)
    render_options: Dict[str, str] = field(default_factory=dict)  # extra tokens a preset brought
    post: Optional[List[Dict[str, Any]]] = None  # a preset's post stages (None = the config's)
    chosen_layers: List[str] = field(default_factory=list)  # several = one group of render nodes each
    chosen_cameras: List[str] = field(default_factory=list)

    # One layer/camera is the first chosen: the renderer token, the ROP whose range fills the form.
    @property
    def layer(self) -> str:
        return self.chosen_layers[0] if self.chosen_layers else ""

    @layer.setter
    def layer(self, name: str) -> None:
        self.chosen_layers = [name] if name else []

    @property
    def camera(self) -> str:
        return self.chosen_cameras[0] if self.chosen_cameras else ""

    @camera.setter
    def camera(self, name: str) -> None:
        self.chosen_cameras = [name] if name else []

    @classmethod
    def from_settings(cls, settings: PanelSettings) -> "FormModel":
        return cls(chunk_size=settings.chunk_size, placement=dict(settings.placement), scout=settings.scout,
                   priority=settings.priority, scheduler=settings.scheduler)

    def settings(self) -> PanelSettings:
        """The choices remembered for the next panel."""
        return PanelSettings(chunk_size=self.chunk_size, placement=dict(self.placement), scout=self.scout,
                             priority=self.priority, scheduler=self.scheduler)

    def preset_settings(self) -> Dict[str, Any]:
        """What "Save as preset" keeps: what fits any scene of the show (no layer, no camera, no
        renderer read from this scene), in the keys of ``cloudsubmit.presets``."""
        out: Dict[str, Any] = {"chunk": self.chunk_size, "place": dict(self.placement), "scout": self.scout,
                               "priority": self.priority, "scheduler": self.scheduler}
        if self.frame_text.strip() and not self.frame_check.error:
            out["frames"] = self.frame_text.strip()
        if self.render_options:
            out["render_options"] = dict(self.render_options)
        if self.post is not None:
            out["post"] = [dict(p) for p in self.post]
        return out

    def apply_preset(self, settings: Dict[str, Any], name: str = "") -> None:
        """Lay a preset's (or a scene's remembered) settings over the form; a stage the panel does
        not show and a choice it does not offer are left as they are."""
        if settings.get("frames"):
            self.set_frame_text(str(settings["frames"]))
        self.chunk_size = max(1, int(settings.get("chunk", self.chunk_size)))
        self.scout = bool(settings.get("scout", self.scout))
        self.priority = int(settings.get("priority", self.priority))
        if settings.get("scheduler") in SCHEDULER_LABELS:
            self.scheduler = settings["scheduler"]
        for stage, where in (settings.get("place") or {}).items():
            if stage in self.placement and where in place_choices(stage):
                self.placement[stage] = where
        if settings.get("renderer"):
            self.renderer = settings["renderer"]
            self.renderers = sorted(set(self.renderers) | {self.renderer})
        self.render_options = dict(settings.get("render_options") or {})
        self.post = [dict(p) for p in settings["post"]] if "post" in settings else None
        self.preset = name

    def set_frame_text(self, text: str) -> FrameCheck:
        self.frame_text = text
        self.frame_check = check_frames(text)
        return self.frame_check

    @property
    def frames(self) -> List[int]:
        """Every frame the job renders, which the file list must cover: with each layer on its own
        range, the union of the ticked layers' ranges (a plate only layer B needs is still listed)."""
        if self.uses_own_ranges:
            return sorted({f for frames in self.layer_frame_lists().values() for f in frames})
        return self.frame_check.frames

    @property
    def frames_error(self) -> str:
        """The Frames field's error, when the field is what the job renders."""
        return "" if self.uses_own_ranges else self.frame_check.error

    # -- several layers: each its own range and its own cameras (as Maya renders them) ---------
    def layer_range(self, layer: str) -> Optional[Tuple[float, float, float]]:
        """The range ``layer`` renders by itself: its render setup (or ROP) range, else the scene's."""
        own = self.layer_frames.get(layer)
        return (float(own[0]), float(own[1]), float(own[2] or 1)) if own else self.scene_range

    @property
    def offers_own_ranges(self) -> bool:
        """Several layers are ticked and each knows its range: "each layer its own range" applies."""
        return len(self.chosen_layers) > 1 and all(self.layer_range(n) for n in self.chosen_layers)

    @property
    def ranges_differ(self) -> bool:
        return len({self.layer_range(n) for n in self.chosen_layers}) > 1

    @property
    def uses_own_ranges(self) -> bool:
        """Each ticked layer renders its own range (the artist's tick; untouched, on when the
        ranges differ, as Deadline Cloud's Maya submitter does unless "Override Frame Range")."""
        if not self.offers_own_ranges:
            return False
        return self.ranges_differ if self.own_ranges is None else bool(self.own_ranges)

    def layer_frame_lists(self) -> Dict[str, List[int]]:
        """Per ticked layer, the frames it renders: its own range, or the Frames field's for all."""
        if not self.uses_own_ranges:
            return {n: list(self.frame_check.frames) for n in self.chosen_layers}
        out = {}
        for name in self.chosen_layers:
            start, end, step = self.layer_range(name) or (0, 0, 1)
            out[name] = range_frames(start, end, step)
        return out

    def layer_label(self, layer: str) -> str:
        """A layer as the layer list names it: its own range and the cameras it renders."""
        bits = [range_spec(*self.layer_range(layer))] if self.layer_range(layer) else []  # type: ignore[misc]
        if self.layer_cameras.get(layer):
            bits.append(", ".join(self.layer_cameras[layer]))
        return f"{layer}  ({'; '.join(bits)})" if bits else layer

    def layers_own_cameras(self, layers: Optional[List[str]] = None) -> List[str]:
        """The cameras the ticked layers render, in the camera list's order (what is pre-ticked)."""
        own = {c for n in (self.chosen_layers if layers is None else layers) for c in self.layer_cameras.get(n, [])}
        return [c for c in self.cameras if c in own]

    def cameras_per_layer(self) -> Dict[str, List[str]]:
        """Per ticked layer, the ticked cameras it renders (one group of render nodes each): a
        camera some ticked layer renders goes to the layers that render it, one that none of them
        renders (ticked on purpose) to all of them; a layer left with none renders every ticked one."""
        known = {c for n in self.chosen_layers for c in self.layer_cameras.get(n, [])}
        out = {}
        for name in self.chosen_layers:
            own = self.layer_cameras.get(name)
            picked = [c for c in self.chosen_cameras if not own or c in own or c not in known]
            out[name] = picked or list(self.chosen_cameras)
        return out

    def set_own_ranges(self, on: bool) -> None:
        self.own_ranges = bool(on)

    def prefill_frames(self, frame_range: Any) -> None:
        spec = range_spec(*frame_range) if frame_range else ""
        if spec:
            self.set_frame_text(spec)

    def frames_summary(self) -> str:
        """"100 frames, 10 chunks, scout 1,50,100", with each layer on its own range "31 frames,
        4 chunks, each layer its own range: rs_a 20-30, rs_b 1-20", or the inline error."""
        if self.frames_error:
            return self.frames_error
        frames = self.frames
        text = f"{plural(len(frames), 'frame')}, {plural(self.chunk_count(), 'chunk')}"
        if self.uses_own_ranges:
            own = self.layer_frame_lists()
            text += ", each layer its own range: " + ", ".join(f"{n} {compact(own[n])}" for n in self.chosen_layers)
        elif self.scout and len(frames) > 3:
            text += f", scout {compact(scout_frames(frames))}"
        return text

    def chunk_count(self) -> int:
        """The render nodes' chunks: per group of render nodes (layer x camera), its frames in chunks."""
        size = max(1, self.chunk_size)
        if len(self.chosen_layers) <= 1:
            return math.ceil(len(self.frames) / size) * max(1, len(self.chosen_cameras))
        cams, own = self.cameras_per_layer(), self.layer_frame_lists()
        return sum(math.ceil(len(own[n]) / size) * max(1, len(cams[n])) for n in self.chosen_layers)

    def set_placement(self, stage: str, where: str) -> None:
        if stage not in self.placement or where not in place_choices(stage):
            raise ValueError(f"unknown stage/placement {stage}={where}")
        self.placement[stage] = where

    def set_choices(self, renderer: str, cameras: List[str], layers: List[str]) -> None:
        """The scene's renderer, cameras (with every camera a layer renders) and layers; what was
        ticked stays ticked, else the first layer and the cameras it renders."""
        self.renderers = sorted({renderer, *self.layer_renderers.values()} - {""})
        self.renderer = renderer or self.renderer
        self.cameras = list(dict.fromkeys([*cameras, *(c for n in layers for c in self.layer_cameras.get(n, []))]))
        self.layers = list(layers)
        self.chosen_layers = [n for n in self.chosen_layers if n in self.layers] or self.layers[:1]
        self.chosen_cameras = ([c for c in self.chosen_cameras if c in self.cameras] or self.layers_own_cameras()
                               or self.cameras[:1])

    def set_layers(self, names: List[str]) -> None:
        """Several layers (ROPs) = one group of render nodes each; one brings its own range. The
        cameras follow the layers (the ones they render are ticked) until the artist ticks others."""
        chosen = [n for n in self.layers if n in names]  # in the scene's order
        if len(chosen) == 1:
            self.set_layer(chosen[0])
            return
        self.chosen_layers = chosen
        self._follow_layers()

    def set_cameras(self, names: List[str]) -> None:
        """The artist's own ticks: from now on the cameras no longer follow the layers."""
        self.chosen_cameras = [c for c in self.cameras if c in names]
        self.cameras_by_hand = True

    def set_layer(self, layer: str) -> None:
        """A layer (a Houdini ROP) brings its own frame range, renderer and the cameras it renders."""
        self.layer = layer
        if self.layer_frames.get(layer):
            self.prefill_frames(self.layer_frames[layer])
        self.renderer = self.layer_renderers.get(layer) or self.renderer
        self.cameras += [c for c in self.layer_cameras.get(layer) or [] if c not in self.cameras]
        self._follow_layers()

    def _follow_layers(self) -> None:
        own = self.layers_own_cameras()
        if own and not self.cameras_by_hand:
            self.chosen_cameras = own

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
            layer=self.layer, allow_missing=self.allow_missing, layers=list(self.chosen_layers),
            cameras=list(self.chosen_cameras), scheduler=self.scheduler, render_options=dict(self.render_options),
            post=[dict(p) for p in self.post] if self.post is not None else None,
            layer_frames={n: compact(f) for n, f in self.layer_frame_lists().items()} if self.uses_own_ranges else {},
            layer_cameras=self.cameras_per_layer() if len(self.chosen_layers) > 1 else {},
        )


@dataclass(frozen=True)
class ViewRequest:
    """What a view of the file list is made from, taken on the UI thread: the table, the
    lower-cased filter text, the state and the sort (``made_for``), the rows shown now when the
    answer is among them (``within``: typing on), and the artist's selection to carry over."""

    made_for: Tuple[Any, ...]  # (table, text, state, sort)
    within: Optional[array] = None
    selection: Selection = field(default_factory=Selection)


@dataclass(frozen=True)
class View:
    """A made view: its row numbers in order, and the positions of the selected rows in it."""

    made_for: Tuple[Any, ...]
    order: array
    selected: Ranges = ()


def make_view(request: ViewRequest, stale: Callable[[], bool] = _never_stale) -> View:
    """The rows ``request`` shows, and where its selection is in them: on the UI thread for a
    small list, on a worker for a big one (raises :class:`Superseded` once ``stale()``)."""
    table, text, state, sort = request.made_for
    order = filtered(table, text, state, sort, request.within, stale)
    return View(request.made_for, order, carried_selection(request.selection, table, order))


class FileListModel:
    """The scan's rows, the filter over them, the counts per state and the artist's selection.
    ``rows`` and ``visible`` are lazy :class:`Rows`; ``visible`` may still show the previous
    table's rows while a worker makes the view of a new one (:meth:`show` swaps it in)."""

    def __init__(self, store_word: str = "cloud") -> None:
        self.store_word = store_word  # "team store" when the store is a folder (see ``state_labels``)
        self.filter_text = ""
        self.state_filter = "all"
        self.sort: Optional[Tuple[int, bool]] = None  # (column, descending) the artist chose, kept across filters
        self.clear()

    def set_rows(self, rows: Any, refilter: bool = True) -> None:
        """``rows``: a :class:`RowTable` (or a list of :class:`DepRow`); ``refilter=False``: the
        caller makes the view (on a worker, for a big list)."""
        self.table = rows if isinstance(rows, RowTable) else _sorted_table(list(rows))
        self.rows = Rows(self.table)
        self._made_for: Optional[tuple] = None  # (table, text, state, sort) ``visible`` was made for
        if refilter:
            self.refilter()

    def clear(self) -> None:
        self.table = RowTable([])
        self.rows = self.visible = Rows(self.table)
        self._made_for = None
        self.selection = Selection()
        self.selected: Ranges = ()  # where the selection is in ``visible`` (for the view to select)

    def set_filter(self, text: Optional[str] = None, state: Optional[str] = None, refilter: bool = True) -> None:
        if text is not None:
            self.filter_text = text
        if state is not None:
            if state not in STATE_FILTERS:
                raise ValueError(f"unknown state filter {state!r}")
            self.state_filter = state
        if refilter:
            self.refilter()

    def view_request(self) -> ViewRequest:
        """What the view for the filter and sort is made from. Typing on (the new text extends
        the one shown, same table, state and order) narrows what is shown instead of searching
        the whole list: every keystroke after the first filters fewer rows."""
        made = (self.table, self.filter_text.lower(), self.state_filter, self.sort)
        was = self._made_for
        narrow = was is not None and was[0] is made[0] and was[2:] == made[2:] and was[1].strip() \
            and made[1].startswith(was[1])
        return ViewRequest(made, self.visible.order if narrow else None, self.selection)

    def at_once(self) -> bool:
        """Whether the view costs no pass over the rows: no word, every state, and a sort order
        the table has (the scan's, or one made before)."""
        return not self.filter_text.split() and self.state_filter == "all" and has_view(self.table, self.sort)

    def refilter(self) -> None:
        """Make ``visible`` for the filter, in the artist's order, here and now."""
        self.show(make_view(self.view_request()))

    def show(self, view: View) -> None:
        """Swap a made view in: no pass over the rows. The selection is what of it the view shows
        (a row a filter hides is no longer selected, as a Qt filter proxy does)."""
        self.visible = Rows(view.made_for[0], view.order)
        self._made_for = view.made_for
        self.select(view.selected)

    def select(self, ranges: Ranges) -> None:
        """The artist's selection, as ranges of positions in ``visible`` (the view's own words)."""
        self.selection = Selection(self.visible.table, self.visible.order, tuple(ranges))
        self.selected = self.selection.ranges

    def counts(self) -> Dict[str, int]:
        """Files per state (counted once per list: rows do not change state until the next scan)."""
        return dict(self.table.summary.counts)

    def summary(self) -> RowSummary:
        return self.table.summary

    def totals_text(self) -> str:
        """"132 files, 120 already in the cloud, 12 to upload, 1.2 GB, 1 missing" ("in the team
        store" for a store that is a folder)."""
        summary = self.summary()
        c = summary.counts
        parts = [plural(len(self.rows), "file")]
        if c[UNKNOWN]:
            parts += [f"{c[UNKNOWN]} not checked against the {self.store_word} yet", human_size(summary.known_bytes)]
        else:
            parts += [f"{c[IN_STORE]} already in the {self.store_word}", f"{c[TO_UPLOAD]} to upload",
                      human_size(summary.upload_bytes)]
        parts.append(f"{c[MISSING]} missing")
        return ", ".join(parts)


def _sorted_table(rows: List[DepRow]) -> RowTable:
    states = [r.state for r in rows]
    return RowTable(rows, sorted_in_steps(range(len(rows)), _scan_keys(states, [r.path for r in rows]).__getitem__))


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

    def output_folder(self) -> str:
        """The folder "Open folder" shows: the job's first output folder that exists, else the
        nearest folder above it that does (a pool job's images are not back yet)."""
        import os

        dirs = list(self.job.output_dirs) if self.job is not None else []
        for folder in dirs:
            if os.path.isdir(folder):
                return folder
        for folder in dirs:
            parent = os.path.dirname(folder.rstrip("/\\"))
            while parent and not os.path.isdir(parent) and os.path.dirname(parent) != parent:
                parent = os.path.dirname(parent)
            if parent and os.path.isdir(parent):
                return parent
        return ""


@dataclass
class Bar:
    """One progress bar: a stage, how far (0..1) and the words (with speed and time left)."""

    stage: str
    fraction: float
    text: str
    state: str = "running"


class ProgressModel:
    """Per-stage progress bars: the worker's reports (scan, hash, upload bytes ...) and the job's
    stages from the status poll (renders done/total). Speed and time left come from
    ``progress.ProgressMeter`` and the words from ``progress_text``, the CLI's own, so both say
    the same thing; ``clock`` lets tests drive time."""

    def __init__(self, clock: Optional[Any] = None) -> None:
        self._clock = clock
        self.meter = ProgressMeter(clock)
        self.bars: Dict[str, Bar] = {}

    def clear(self) -> None:
        self.bars = {}
        self.meter = ProgressMeter(self._clock)

    def report(self, rep: ProgressReport, state: str = "running") -> Bar:
        rate = self.meter.update(rep)
        text = progress_text(rep, rate if state == "running" else None)
        bar = Bar(rep.stage, 1.0 if state == "done" else rep.fraction, text, state)
        self.bars[rep.stage] = bar
        return bar

    def job_stages(self, stages: List[StageProgress], placement: Dict[str, str]) -> None:
        """The status poll's counts as bars: "render (cloud): 3/10, 0.5/s, about 14 s left"."""
        for s in stages:
            name = f"{s.stage}{_where(placement, s.stage)}"
            rep = ProgressReport(name, s.done, s.total, message=s.detail or ("" if s.state == "running" else s.state))
            self.report(rep, s.state)


def _where(placement: Dict[str, str], stage: str) -> str:
    """" (local)" for a stage the panel placed; the job status names post stages
    ``post_<name>`` while the panel's choices use ``<name>``, which printed "post_comp ()"."""
    where = placement.get(stage) or placement.get(stage[len("post_"):] if stage.startswith("post_") else "")
    return f" ({where})" if where else ""
