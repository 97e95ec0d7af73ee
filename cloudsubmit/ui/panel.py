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
from ..frames import compact
from .qtcompat import guard_none_refcount, standalone_application
from .controller import SCHEDULER_LABELS, SubmitController
from .models import STATE_FILTERS
from .widgets import (ERROR_STYLE, ChoiceList, DependencyModel, FileHeader, FileTable, StageBars, StagePlacement,
                      combo, draw_icon, set_combo)
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
        root.addLayout(self._preset_row())
        root.addWidget(self._render_box())
        placement_box = QtWidgets.QGroupBox("Where each stage runs")
        place_row = QtWidgets.QHBoxLayout(placement_box)
        self.placement = StagePlacement(c.placement)
        self.scheduler = combo(list(SCHEDULER_LABELS.values()))
        self.scheduler.setObjectName("scheduler")
        self.scheduler.setToolTip("HTCondor pool: the studio's farm and cloud nodes. Local: every stage on this "
                                  "machine, one after the other (no pool needed).")
        place_row.addWidget(self.placement, 1)
        place_row.addWidget(QtWidgets.QLabel("Submit to"))
        place_row.addWidget(self.scheduler)
        root.addWidget(placement_box)
        root.addWidget(self._files_box(), 1)
        root.addWidget(self._progress_row())
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("message")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        root.addWidget(self.message)
        self.status = QtWidgets.QPlainTextEdit()
        self.status.setReadOnly(True)
        self.status.setMaximumHeight(70)
        self.status.setPlaceholderText("After submitting, the job and the progress of each stage show here.")
        root.addWidget(self.status)
        buttons = QtWidgets.QHBoxLayout()
        self.open_button = QtWidgets.QPushButton("Open folder")
        self.open_button.setToolTip("Show the folder the job's images land in")
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        self.close_button = QtWidgets.QPushButton("Close")
        self.export_button = QtWidgets.QPushButton("Export bundle")
        self.export_button.setToolTip("Write the job bundle without submitting it (as `submit --dry-run`); "
                                      "`cloudsubmit resubmit BUNDLE` submits it later")
        self.submit_button = QtWidgets.QPushButton("Submit")
        self.submit_button.setDefault(True)
        for button in (self.close_button, self.export_button, self.submit_button):
            buttons.addWidget(button)
        root.addLayout(buttons)

    def _preset_row(self) -> QtWidgets.QHBoxLayout:
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Preset"))
        self.preset = combo([])
        self.preset.setObjectName("preset")
        self.preset.setMinimumWidth(180)
        self.preset.setToolTip("The show's presets (studio config) and your own; choosing one fills the form")
        self.save_preset_button = QtWidgets.QPushButton("Save as preset...")
        self.preset_problem = QtWidgets.QLabel()  # a bad preset file: one line naming file and key
        self.preset_problem.setStyleSheet(ERROR_STYLE)
        self.preset_problem.setWordWrap(True)
        row.addWidget(self.preset)
        row.addWidget(self.save_preset_button)
        row.addWidget(self.preset_problem, 10)
        row.addStretch(1)  # keeps the menu and the button their size while there is no problem line
        return row

    def _render_box(self) -> QtWidgets.QGroupBox:
        c = self.controller
        box = QtWidgets.QGroupBox("Render")
        form = QtWidgets.QGridLayout(box)
        self.frames = QtWidgets.QLineEdit()
        self.frames.setPlaceholderText("1-100, 1-100x5, 1,5,10-20")
        self.frames_info = QtWidgets.QLabel()
        self.frames_info.setWordWrap(True)  # several layers' own ranges: a second line, not a wider panel
        self.chunk = QtWidgets.QSpinBox()
        self.chunk.setRange(1, 100000)
        self.chunk.setValue(c.chunk_size)
        self.priority = QtWidgets.QSpinBox()
        self.priority.setRange(-100, 100)
        self.priority.setValue(c.priority)
        self.renderer, self.camera, self.layer = combo([]), ChoiceList(), ChoiceList()
        self.camera.setToolTip("Tick several cameras for one group of render nodes each")
        self.layer.setToolTip("Tick several for one group of render nodes each")
        self.layer_label = QtWidgets.QLabel("Layer")
        self.job_name = QtWidgets.QLineEdit()
        self.scout = QtWidgets.QCheckBox("Render scout frames first (first, middle, last)")
        self.scout.setChecked(c.scout)
        self.own_ranges = QtWidgets.QCheckBox("Each layer renders its own frame range")
        self.own_ranges.setObjectName("own_ranges")
        self.own_ranges.setToolTip("On: every ticked layer renders the range its render settings give it (shown in "
                                   "the layer list). Off: the Frames field applies to every ticked layer.")
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
        form.addWidget(self.own_ranges, len(pairs) + 1, 1, 1, 3)
        form.addWidget(self.scout, len(pairs) + 2, 1, 1, 3)
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
        self.store_label = QtWidgets.QLabel(self.controller.store_line)
        self.store_label.setObjectName("store")
        self.store_label.setVisible(bool(self.controller.store_line))
        self.store_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.store_label)
        row = QtWidgets.QHBoxLayout()
        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("Filter by path or node.attribute")
        self.search.setClearButtonEnabled(True)
        self.state_filter = combo(["all files"] + [self.controller.labels[s] for s in STATE_FILTERS[1:]])
        self.rescan_button = QtWidgets.QPushButton("Rescan")
        for w in (self.search, self.state_filter, self.rescan_button):
            row.addWidget(w, 1 if w is self.search else 0)
        layout.addLayout(row)
        self.table = FileTable()
        self.table.setHorizontalHeader(FileHeader(Qt.Orientation.Horizontal, self.table))
        self.table.setModel(self.model)
        # A header asks the selection, on every paint, whether each of its columns is wholly
        # selected, and Qt answers by walking the rows through the model (two calls into Python a
        # row): with all 100,000 rows selected each paint blocked the UI for about 1 s. The headers
        # get a selection of their own, always empty (they highlight no section; sorting is theirs still).
        for header in (self.table.horizontalHeader(), self.table.verticalHeader()):
            header.setSelectionModel(QtCore.QItemSelectionModel(self.model, header))
        # Qt starts the indicator descending, which would put the files in the store first
        self.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 120), (2, 80), (3, 220)):
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
        self.stage_bars = StageBars()
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        row.addWidget(self.stage_bars, 1)
        row.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignTop)
        return self.progress_row

    # -- input -> controller -------------------------------------------------------------------
    def _connect(self) -> None:
        c = self.controller
        self.frames.textChanged.connect(c.set_frame_text)
        self.chunk.valueChanged.connect(c.set_chunk_size)
        self.priority.valueChanged.connect(c.set_priority)
        self.renderer.currentTextChanged.connect(c.set_renderer)
        self.camera.changed.connect(c.set_cameras)
        self.layer.changed.connect(c.set_layers)
        self.scheduler.currentIndexChanged.connect(lambda i: c.set_scheduler(list(SCHEDULER_LABELS)[i]))
        self.preset.currentIndexChanged.connect(lambda i: c.apply_preset(self.preset.itemData(i) or ""))
        self.save_preset_button.clicked.connect(lambda *_: self.ask_preset_name())
        self.export_button.clicked.connect(lambda *_: self.export())
        self.open_button.clicked.connect(lambda *_: self.open_folder())
        self.job_name.textChanged.connect(c.set_job_name)
        self.scout.toggled.connect(c.set_scout)
        self.own_ranges.toggled.connect(c.set_own_ranges)
        self.placement.changed.connect(c.set_placement)
        self.search.textChanged.connect(lambda text: c.set_filter(text=text))
        self.state_filter.currentIndexChanged.connect(lambda i: c.set_filter(state=STATE_FILTERS[i]))
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.override.toggled.connect(c.set_allow_missing)
        self.rescan_button.clicked.connect(lambda *_: self.rescan())  # not clicked(checked) as refresh_host
        self.submit_button.clicked.connect(self.submit)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)

    # -- controller -> widgets -----------------------------------------------------------------
    def _on_change(self, topic: str) -> None:
        render = {"scene": self._render_all, "frames": self._render_frames, "options": self._render_options,
                  "rows": self._render_rows, "busy": self._render_busy, "status": self._render_status,
                  "error": self._render_busy, "progress": self._render_progress,
                  "presets": self._render_presets, "view": self._run_view}.get(topic)
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
        for part in (self._render_presets, self._render_frames, self._render_options, self._render_rows,
                     self._render_busy, self._render_status, self._render_progress):
            part()

    @staticmethod
    def _set_text(field: QtWidgets.QLineEdit, text: str) -> None:
        if field.text() != text:
            blocked = field.blockSignals(True)
            field.setText(text)
            field.blockSignals(blocked)

    def _render_frames(self) -> None:
        c = self.controller
        own = c.uses_own_ranges  # the field then shows every frame the layers render, greyed
        self._set_text(self.frames, compact(c.frames) if own else c.frame_text)
        self.frames.setEnabled(not own)
        self.own_ranges.setVisible(c.offers_own_ranges)
        blocked = self.own_ranges.blockSignals(True)
        self.own_ranges.setChecked(own)
        self.own_ranges.blockSignals(blocked)
        bad = bool(c.form.frames_error)
        self.frames.setStyleSheet("border: 1px solid #d64541;" if bad else "")
        self.frames_info.setStyleSheet(ERROR_STYLE if bad else "")
        self.frames_info.setText(c.frames_summary())
        self._render_busy()

    def _render_options(self) -> None:
        c = self.controller
        set_combo(self.renderer, c.renderers or ([c.renderer] if c.renderer else []), c.renderer)
        if (self.camera.items(), self.camera.chosen()) != (c.cameras, c.chosen_cameras):
            self.camera.set_items(c.cameras, c.chosen_cameras)
        labels = {name: c.form.layer_label(name) for name in c.layers}
        if (self.layer.items(), self.layer.chosen(), self.layer.labels()) != (c.layers, c.chosen_layers,
                                                                              [labels[n] for n in c.layers]):
            self.layer.set_items(c.layers, c.chosen_layers, labels)
        self._set_text(self.job_name, c.job_name)
        self.placement.set_placement(c.placement)
        blocked = self.scheduler.blockSignals(True)
        self.scheduler.setCurrentIndex(list(SCHEDULER_LABELS).index(c.scheduler))
        self.scheduler.blockSignals(blocked)
        self._select_preset()
        self.chunk.blockSignals(True)
        self.chunk.setValue(c.chunk_size)
        self.chunk.blockSignals(False)
        self.priority.blockSignals(True)
        self.priority.setValue(c.priority)
        self.priority.blockSignals(False)
        self.scout.blockSignals(True)
        self.scout.setChecked(c.scout)
        self.scout.blockSignals(False)
        self._render_frames()

    def _render_presets(self) -> None:
        c = self.controller
        blocked = self.preset.blockSignals(True)
        self.preset.clear()
        self.preset.addItem("(none)", "")
        for name in c.preset_names():
            preset = c.presets.presets[name]
            self.preset.addItem(f"{name} ({'show' if preset.scope == 'studio' else 'mine'})", name)
            self.preset.setItemData(self.preset.count() - 1, preset.summary(), Qt.ItemDataRole.ToolTipRole)
        self.preset.setEnabled(self.preset.count() > 1)
        problems = c.presets_problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        self.preset_problem.setText(problems[0] + more if problems else "")
        self.preset_problem.setVisible(bool(problems))
        self.preset.blockSignals(blocked)
        self._select_preset()

    def _select_preset(self) -> None:
        blocked = self.preset.blockSignals(True)
        index = self.preset.findData(self.controller.preset)
        self.preset.setCurrentIndex(max(0, index))
        self.preset.blockSignals(blocked)

    def _render_progress(self) -> None:
        c = self.controller
        self.stage_bars.show_bars(c.bars.bars.values())
        self.progress_row.setVisible(bool(c.busy) or bool(c.bars.bars))

    def _render_rows(self) -> None:
        c = self.controller
        self.model.refresh()
        self._select(c.files.selected)
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
        self.cancel_button.setVisible(busy)
        self.rescan_button.setEnabled(not busy)
        self.progress_row.setVisible(busy or bool(c.bars.bars))
        blockers = c.submit_blockers()
        self.submit_button.setEnabled(not blockers)
        self.submit_button.setToolTip("\n".join(blockers))
        export_blockers = c.submit_blockers(exporting=True)
        self.export_button.setEnabled(not export_blockers)
        self.export_button.setToolTip("\n".join(export_blockers) or self.export_button.toolTip())
        folder = c.output_folder()
        self.open_button.setEnabled(bool(folder))
        self.open_button.setToolTip(f"Open {folder}" if folder else "After a submit: the folder the images land in")
        if c.error:
            self.message.setStyleSheet(ERROR_STYLE)
            self.message.setText(c.error)
        else:
            self.message.setStyleSheet("")
            hint = blockers[0] if blockers and not busy else ""
            words = c.notice or hint or "; ".join(c.warnings()[:3])
            self.message.setText(words)

    def _render_status(self) -> None:
        lines = self.controller.status_lines()
        self.status.setPlainText("\n".join(lines))
        self.status.setVisible(bool(lines))
        if lines and not self.controller.finished():
            self.poll.start()
        else:
            self.poll.stop()

    def _selection_changed(self, *_: Any) -> None:
        """The artist's selection, as ranges of rows (one for "select all" of 100,000 rows)."""
        chosen = self.table.selectionModel().selection()
        self.controller.select_rows([(chosen.at(i).top(), chosen.at(i).bottom()) for i in range(chosen.count())])

    def _select(self, ranges: Any) -> None:
        """Select again, after the view changed, the rows the controller says are still selected."""
        if not ranges:
            return
        last_column = self.model.columnCount() - 1
        chosen = QtCore.QItemSelection()
        for first, last in ranges:
            chosen.select(self.model.index(first, 0), self.model.index(last, last_column))
        flags = QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect | QtCore.QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().select(chosen, flags)

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
    def _run(self, stage: str, make_task: Any, done: Any, partial: Any = None) -> None:
        c = self.controller
        try:
            task = make_task()
        except CloudSubmitError as exc:
            c.failed(exc)
            return
        c.start(stage)
        self.runner.run(task, done, c.failed, c.progress, partial=partial)

    def _run_view(self) -> None:
        """Filter/sort a big list on a worker: the UI thread only swaps the new list in."""
        c = self.controller
        task = c.view_task()
        if task is not None:
            self.runner.run(task, c.view_done, c.view_failed)
        self.totals.setText(c.totals_text())  # "(filtering...)" until the view is in

    def rescan(self, refresh_host: bool = True) -> None:
        c = self.controller
        self._run("scan", lambda: c.scan_task(refresh_host), c.scan_done, partial=c.scan_partial)

    def submit(self) -> None:
        self._run("submit", self.controller.submit_task, self.controller.submit_done)

    def export(self) -> None:
        """Export bundle: write the job bundle without submitting it."""
        self._run("export", self.controller.export_task, self.controller.export_done)

    def ask_preset_name(self) -> None:
        """"Save as preset...": ask a name, then save the form's show-wide settings under it."""
        name, ok = QtWidgets.QInputDialog.getText(self, "Save as preset", "Preset name (letters, digits, _ . -):",
                                                  text=self.controller.preset)
        if ok and name.strip():
            self.save_preset(name)

    def save_preset(self, name: str) -> None:
        try:
            self.controller.save_preset(name)
        except CloudSubmitError as exc:
            self.controller.failed(exc)

    def open_folder(self) -> bool:
        """Open the folder the job's images land in with the desktop's file browser."""
        folder = self.controller.output_folder()
        return bool(folder) and bool(self._open_url(QtCore.QUrl.fromLocalFile(folder)))

    @staticmethod
    def _open_url(url: Any) -> bool:  # the desktop's file browser: the one call tests replace
        return bool(QtGui.QDesktopServices.openUrl(url))

    def cancel(self) -> None:
        self.runner.cancel_all()
        self.message.setText("Cancelling...")

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
