"""The submit panel: one window for Maya, Houdini and standalone use.

It only renders the :class:`~cloudsubmit.ui.controller.SubmitController` and forwards input to it;
long work goes through :class:`~cloudsubmit.ui.workers.TaskRunner`. Opened with :func:`show_panel`
from a host's menu/shelf (parented to the host's main window) or :func:`run_standalone` from
``cloudsubmit panel``."""
from __future__ import annotations

import html
from typing import Any, Dict, Optional

from Qt import QtCore, QtGui, QtWidgets

from ..errors import CloudSubmitError
from ..progress import ProgressReport
from .qtcompat import guard_none_refcount, standalone_application
from .controller import STATE_LABELS, SubmitController
from .models import STATE_FILTERS
from .widgets import ERROR_STYLE, DependencyModel, StagePlacement, combo, draw_icon, set_combo
from .workers import TaskRunner

Qt = QtCore.Qt
STATUS_POLL_MS = 10_000
RESCAN_PAUSE_MS = 600  # a pause in typing this long rescans the file list for the new frames/layer
_OPEN: Dict[str, Any] = {}  # panels shown from a host, kept alive while their window is open


def run_exec(obj: Any, *args: Any) -> Any:
    """``exec()`` on PySide6, ``exec_()`` where ``exec`` is missing (older PySide2)."""
    return (getattr(obj, "exec", None) or getattr(obj, "exec_"))(*args)


class SubmitPanel(QtWidgets.QWidget):
    def __init__(self, controller: SubmitController, parent: Optional[QtWidgets.QWidget] = None,
                 runner: Optional[TaskRunner] = None) -> None:
        guard_none_refcount()
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("cloudsubmitPanel")
        self.setWindowTitle("Submit to Cloud")
        self.setWindowIcon(QtGui.QIcon(draw_icon(64)))
        self.controller = controller
        self.runner = runner or TaskRunner(self)
        self.model = DependencyModel(controller, self)
        self._polling = False
        self._build()
        self._connect()
        self.poll = QtCore.QTimer(self)
        self.poll.setInterval(STATUS_POLL_MS)
        self.poll.timeout.connect(self.refresh_status)
        self.rescan_timer = QtCore.QTimer(self)  # debounce: one scan after the typing stops
        self.rescan_timer.setSingleShot(True)
        self.rescan_timer.setInterval(RESCAN_PAUSE_MS)
        self.rescan_timer.timeout.connect(self._rescan_if_stale)
        controller.subscribe(self._on_change)
        self._render_all()
        self.resize(960, 760)

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        c = self.controller
        root = QtWidgets.QVBoxLayout(self)
        self.scene_label = QtWidgets.QLabel()
        self.scene_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        root.addWidget(self.scene_label)
        root.addWidget(self._render_box())
        placement_box = QtWidgets.QGroupBox("Where each stage runs")
        self.placement = StagePlacement(c.placement)
        QtWidgets.QVBoxLayout(placement_box).addWidget(self.placement)
        root.addWidget(placement_box)
        root.addWidget(self._files_box(), 1)
        root.addWidget(self._progress_row())
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("message")
        root.addWidget(self.message)
        self.status = QtWidgets.QPlainTextEdit()
        self.status.setReadOnly(True)
        self.status.setMaximumHeight(100)
        self.status.setPlaceholderText("After submitting, the job and the progress of each stage show here.")
        root.addWidget(self.status)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addStretch(1)
        self.close_button = QtWidgets.QPushButton("Close")
        self.submit_button = QtWidgets.QPushButton("Submit")
        self.submit_button.setDefault(True)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.submit_button)
        root.addLayout(buttons)

    def _render_box(self) -> QtWidgets.QGroupBox:
        c = self.controller
        box = QtWidgets.QGroupBox("Render")
        form = QtWidgets.QGridLayout(box)
        self.frames = QtWidgets.QLineEdit()
        self.frames.setPlaceholderText("1-100, 1-100x5, 1,5,10-20")
        self.frames_info = QtWidgets.QLabel()
        self.chunk = QtWidgets.QSpinBox()
        self.chunk.setRange(1, 100000)
        self.chunk.setValue(c.chunk_size)
        self.priority = QtWidgets.QSpinBox()
        self.priority.setRange(-100, 100)
        self.priority.setValue(c.priority)
        self.renderer, self.camera, self.layer = combo([]), combo([]), combo([])
        self.layer_label = QtWidgets.QLabel("Layer")
        self.job_name = QtWidgets.QLineEdit()
        self.scout = QtWidgets.QCheckBox("Render scout frames first (first, middle, last)")
        self.scout.setChecked(c.scout)
        form.addWidget(QtWidgets.QLabel("Frames"), 0, 0)
        form.addWidget(self.frames, 0, 1)
        form.addWidget(self.frames_info, 0, 2, 1, 2)
        pairs = (
            (("Chunk size", self.chunk), ("Priority", self.priority)),
            (("Renderer", self.renderer), ("Camera", self.camera)),
            ((self.layer_label, self.layer), ("Job name", self.job_name)),
        )
        for row, line in enumerate(pairs, start=1):
            for col, (label, field) in zip((0, 2), line):
                form.addWidget(label if isinstance(label, QtWidgets.QLabel) else QtWidgets.QLabel(str(label)), row, col)
                form.addWidget(field, row, col + 1)
        form.addWidget(self.scout, len(pairs) + 1, 1, 1, 3)
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)
        return box

    def _files_box(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Files the render needs")
        layout = QtWidgets.QVBoxLayout(box)
        self.totals = QtWidgets.QLabel()
        self.totals.setObjectName("totals")
        font = self.totals.font()
        font.setBold(True)
        self.totals.setFont(font)
        layout.addWidget(self.totals)
        row = QtWidgets.QHBoxLayout()
        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("Filter by path or node.attribute")
        self.search.setClearButtonEnabled(True)
        self.state_filter = combo(["all files"] + [STATE_LABELS[s] for s in STATE_FILTERS[1:]])
        self.rescan_button = QtWidgets.QPushButton("Rescan")
        for w in (self.search, self.state_filter, self.rescan_button):
            row.addWidget(w, 1 if w is self.search else 0)
        layout.addLayout(row)
        self.table = QtWidgets.QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 90), (2, 80), (3, 220)):
            self.table.setColumnWidth(col, width)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._table_menu)
        layout.addWidget(self.table, 1)
        self.override = QtWidgets.QCheckBox()
        layout.addWidget(self.override)
        return box

    def _progress_row(self) -> QtWidgets.QWidget:
        row = QtWidgets.QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self.progress_row = QtWidgets.QWidget()
        self.progress_row.setLayout(row)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        return self.progress_row

    # -- input -> controller -------------------------------------------------------------------
    def _connect(self) -> None:
        c = self.controller
        self.frames.textChanged.connect(c.set_frame_text)
        self.chunk.valueChanged.connect(c.set_chunk_size)
        self.priority.valueChanged.connect(c.set_priority)
        self.renderer.currentTextChanged.connect(c.set_renderer)
        self.camera.currentTextChanged.connect(c.set_camera)
        self.layer.currentTextChanged.connect(c.set_layer)
        self.job_name.textChanged.connect(c.set_job_name)
        self.scout.toggled.connect(c.set_scout)
        self.placement.changed.connect(c.set_placement)
        self.search.textChanged.connect(lambda text: c.set_filter(text=text))
        self.state_filter.currentIndexChanged.connect(lambda i: c.set_filter(state=STATE_FILTERS[i]))
        self.override.toggled.connect(c.set_allow_missing)
        self.rescan_button.clicked.connect(lambda *_: self.rescan())  # not clicked(checked) as refresh_host
        self.submit_button.clicked.connect(self.submit)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)

    # -- controller -> widgets -----------------------------------------------------------------
    def _on_change(self, topic: str) -> None:
        render = {"scene": self._render_all, "frames": self._render_frames, "options": self._render_options,
                  "rows": self._render_rows, "busy": self._render_busy, "status": self._render_status,
                  "error": self._render_busy}.get(topic)
        if render is not None:
            render()
        if topic in ("frames", "options", "busy") and self.controller.needs_rescan():
            self.rescan_timer.start()  # (re)started on every change: one scan once the typing stops

    def _rescan_if_stale(self) -> None:
        """The debounce fired: scan on a worker unless a task is running (its end comes back here
        through the "busy" topic, so a change made during a scan is scanned next)."""
        if self.controller.needs_rescan() and not self.controller.busy:
            self.rescan()

    def _render_all(self) -> None:
        c = self.controller
        kind = c.host_kind.capitalize() or "scene"
        host = f"live {kind} session" if c.snapshot is not None else f"{kind} file, read offline"
        unsaved = " &nbsp; unsaved changes: Submit saves the scene first" if c.modified else ""
        self.scene_label.setText(f"<b>{html.escape(c.scene or 'No scene')}</b> &nbsp; <i>({host})</i>{unsaved}")
        self.layer_label.setText("ROP" if c.host_kind == "houdini" else "Render layer")
        for part in (self._render_frames, self._render_options, self._render_rows, self._render_busy,
                     self._render_status):
            part()

    @staticmethod
    def _set_text(field: QtWidgets.QLineEdit, text: str) -> None:
        if field.text() != text:
            blocked = field.blockSignals(True)
            field.setText(text)
            field.blockSignals(blocked)

    def _render_frames(self) -> None:
        c = self.controller
        self._set_text(self.frames, c.frame_text)
        bad = bool(c.frame_check.error)
        self.frames.setStyleSheet("border: 1px solid #d64541;" if bad else "")
        self.frames_info.setStyleSheet(ERROR_STYLE if bad else "")
        self.frames_info.setText(c.frames_summary())
        self._render_busy()

    def _render_options(self) -> None:
        c = self.controller
        set_combo(self.renderer, c.renderers or ([c.renderer] if c.renderer else []), c.renderer)
        set_combo(self.camera, c.cameras, c.camera)
        set_combo(self.layer, c.layers, c.layer)
        self._set_text(self.job_name, c.job_name)
        self.placement.set_placement(c.placement)
        self._render_frames()

    def _render_rows(self) -> None:
        c = self.controller
        self.model.refresh()
        self.totals.setText(c.totals_text())
        missing = c.counts()["missing"]
        self.override.setVisible(bool(missing))
        self.override.setText(f"Submit anyway: the render does not need the {missing} missing file"
                              + ("s" if missing != 1 else ""))
        self._render_busy()

    def _render_busy(self) -> None:
        c = self.controller
        busy = bool(c.busy)
        self.cancel_button.setEnabled(busy)
        self.rescan_button.setEnabled(not busy)
        self.progress_row.setVisible(busy)
        blockers = c.submit_blockers()
        self.submit_button.setEnabled(not blockers)
        self.submit_button.setToolTip("\n".join(blockers))
        if c.error:
            self.message.setStyleSheet(ERROR_STYLE)
            self.message.setText(c.error)
        else:
            self.message.setStyleSheet("")
            hint = blockers[0] if blockers and not busy else ""
            self.message.setText("; ".join(c.warnings()[:3]) if not hint and c.warnings() else hint)

    def _render_status(self) -> None:
        lines = self.controller.status_lines()
        self.status.setPlainText("\n".join(lines))
        self.status.setVisible(bool(lines))
        if lines and not self.controller.finished():
            self.poll.start()
        else:
            self.poll.stop()

    def _on_progress(self, rep: ProgressReport) -> None:
        self.progress.setValue(int(rep.fraction * 1000))
        count = f" {rep.done}/{rep.total}" if rep.total else ""
        self.progress.setFormat(f"{rep.stage}{count} {rep.message}".strip())

    def selected_paths(self) -> list:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.controller.visible[r].path for r in rows]

    def copy_paths(self) -> str:
        """The selected files' paths to the clipboard, one per line (to fix them in the DCC)."""
        text = "\n".join(self.selected_paths())
        QtWidgets.QApplication.clipboard().setText(text)
        return text

    def _table_menu(self, pos: Any) -> None:
        menu = QtWidgets.QMenu(self.table)
        action = menu.addAction("Copy paths", self.copy_paths)
        if action is not None:
            action.setEnabled(bool(self.selected_paths()))
        run_exec(menu, self.table.viewport().mapToGlobal(pos))

    # -- actions -------------------------------------------------------------------------------
    def _run(self, stage: str, make_task: Any, done: Any) -> None:
        c = self.controller
        try:
            task = make_task()
        except CloudSubmitError as exc:
            c.failed(exc)
            return
        c.start(stage)
        self.progress.setValue(0)
        self.progress.setFormat(stage)
        self.runner.run(task, done, c.failed, self._on_progress)

    def rescan(self, refresh_host: bool = True) -> None:
        self._run("scan", lambda: self.controller.scan_task(refresh_host), self.controller.scan_done)

    def submit(self) -> None:
        self._run("submit", self.controller.submit_task, self.controller.submit_done)

    def cancel(self) -> None:
        self.runner.cancel_all()
        self.progress.setFormat("cancelling...")

    def refresh_status(self) -> None:
        guard_none_refcount()
        task = self.controller.status_task()
        if task is None or self._polling:
            return
        self._polling = True

        def done(stages: Any) -> None:
            self._polling = False
            self.controller.status_done(stages)

        def failed(exc: BaseException) -> None:  # the job still runs; say so, keep polling
            self._polling = False
            self.status.appendPlainText(f"Could not read the job status: {exc}")

        self.runner.run(task, done, failed)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 (Qt API)
        self.poll.stop()
        self.rescan_timer.stop()
        self.runner.shutdown()
        _OPEN.pop(self.objectName(), None)
        super().closeEvent(event)


def build_panel(scene: str, services: Any = None, host: Any = None, layer: str = "",
                parent: Optional[QtWidgets.QWidget] = None) -> SubmitPanel:
    """A panel for ``scene`` (or the host's open scene). Host data is gathered here, on the main
    thread; the workers get plain data only."""
    from . import corecalls
    from .settings import config_defaults

    snap = None
    if host is not None:
        from ..hosts.base import snapshot

        snap = snapshot(host)
        scene = scene or snap.scene
    services = services or corecalls.real_services()
    controller = SubmitController(services, save_scene=host.save_scene if host is not None else None,
                                  defaults=config_defaults(services.extra.get("config")),
                                  host_snapshot=(lambda: snapshot(host)) if host is not None else None)
    controller.load_scene(scene, snap, layer=layer)
    return SubmitPanel(controller, parent=parent)


def show_panel(host: Any, layer: str = "", services: Any = None) -> SubmitPanel:
    """Open (or raise) the panel inside a DCC, parented to its main window, and start scanning."""
    old = _OPEN.get("cloudsubmitPanel")
    if old is not None:
        old.close()
    panel = build_panel("", services=services, host=host, layer=layer, parent=host.main_window())
    _OPEN[panel.objectName()] = panel
    panel.show()
    if panel.controller.scene:
        panel.rescan(refresh_host=False)  # build_panel has just asked the host
    return panel


def wait_idle(panel: SubmitPanel, timeout_s: float = 60.0) -> bool:
    """Pump events until the panel's worker is done (scripts and screenshots, not the UI)."""
    import time

    app = QtWidgets.QApplication.instance()
    deadline = time.monotonic() + timeout_s
    while (panel.controller.busy or panel.runner.busy()) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()
    return not panel.controller.busy


def run_standalone(scene: str = "", services: Any = None, screenshot: str = "") -> int:
    """``cloudsubmit panel [SCENE]``: the same panel outside any DCC, reading the file offline.
    With ``screenshot``: scan, save a PNG of the panel, print the totals and exit."""
    app = standalone_application(["cloudsubmit"])
    panel = build_panel(scene, services=services)
    panel.show()
    if scene:
        panel.rescan()
    if not screenshot:
        return int(run_exec(app))
    wait_idle(panel)
    saved = panel.grab().save(screenshot)
    c = panel.controller
    if not saved:  # QPixmap.save only returns False: a missing folder, no write access, no .png
        panel.close()
        raise CloudSubmitError(f"{screenshot}: could not write the screenshot (does the folder exist, "
                               "can you write there, does the name end in .png?)")
    print(c.totals_text())
    panel.close()
    if c.error:
        raise CloudSubmitError(c.error)
    return 0
