"""The panel's pieces. They render what the controller says and pass user input back to it; no
decision is made here. Qt only through Qt.py, fully-qualified enums (PySide2 and PySide6 alike)."""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from Qt import QtCore, QtGui, QtWidgets

from ..units import human_size
from .controller import SubmitController
from .models import Bar
from ..vocabulary import IN_STORE, MISSING, TO_UPLOAD, place_choices

Qt = QtCore.Qt
ROLE_DISPLAY = Qt.ItemDataRole.DisplayRole
ROLE_TOOLTIP = Qt.ItemDataRole.ToolTipRole
ROLE_FOREGROUND = Qt.ItemDataRole.ForegroundRole
ROLE_ALIGN = Qt.ItemDataRole.TextAlignmentRole
ROLE_SORT = Qt.ItemDataRole.UserRole
COLUMNS = ("State", "File", "Size", "Node / attribute")
ROLES_USED = (ROLE_DISPLAY, ROLE_FOREGROUND, ROLE_TOOLTIP, ROLE_ALIGN)  # the view asks others too: answered at once
STATE_COLOURS = {IN_STORE: "#3f9b4f", TO_UPLOAD: "#3b7dd8", MISSING: "#d64541"}
ERROR_STYLE = "color: #d64541;"
CLOUD_BLUE = "#3b7dd8"


class DependencyModel(QtCore.QAbstractTableModel):
    """The controller's visible rows, read in place: no per-row items, and each row is made only
    when the view asks for a cell on screen, so 100,000 files cost the view nothing more."""

    def __init__(self, controller: SubmitController, parent: Optional[QtCore.QObject] = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._brushes = {k: QtGui.QBrush(QtGui.QColor(v)) for k, v in STATE_COLOURS.items()}
        self._right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def rowCount(self, parent: Any = QtCore.QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self.controller.files.visible)

    def columnCount(self, parent: Any = QtCore.QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Any, role: int = ROLE_DISPLAY) -> Any:  # noqa: N802
        if role == ROLE_DISPLAY and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: Any, role: int = ROLE_DISPLAY) -> Any:
        """One cell, read straight from the table's columns: the view calls this for every role
        of every cell it paints (inside one call into Python, see :class:`FileTable`), so it
        makes no row object and asks Qt for nothing but the row and column."""
        if role not in ROLES_USED:
            return None
        visible = self.controller.files.visible  # its own table: a new list shows once its view is made
        row, col = index.row(), index.column()
        if not 0 <= row < len(visible):
            return None
        table, i = visible.table, visible.order[row]
        if role == ROLE_DISPLAY:
            if col == 1:
                return table.path[i]
            if col == 0:
                return self.controller.labels.get(table.state[i], table.state[i])
            return human_size(table.size[i]) if col == 2 else table.source[i]
        if role == ROLE_FOREGROUND:
            return self._brushes.get(table.state[i]) if col == 0 else None
        if role == ROLE_TOOLTIP:
            return f"{table.path[i]}\n{table.kind[i]} from {table.source[i]}"
        return self._right if col == 2 else None  # ROLE_ALIGN

    def sort(self, column: int, order: Any = Qt.SortOrder.AscendingOrder) -> None:
        """The controller sorts (on a worker for a big list) and says "rows" when it is done."""
        self.controller.sort_rows(column, order == Qt.SortOrder.DescendingOrder)

    def refresh(self) -> None:
        self.beginResetModel()
        self.endResetModel()


class FileTable(QtWidgets.QTableView):
    """The file list's table, painted inside one call into Python. Painted by Qt alone, each of
    the ~500 calls a repaint makes into the model (``data`` per role and cell, ``rowCount``...)
    waits for the GIL anew: beside a busy worker on a loaded machine, a filter's or a scroll's
    repaint then blocked the UI 60-200 ms; in here the GIL is held once for the whole paint."""

    def paintEvent(self, event: Any) -> None:  # noqa: N802 (Qt API)
        super().paintEvent(event)


class FileHeader(QtWidgets.QHeaderView):
    """The table's column header, painted inside one call into Python as :class:`FileTable` is
    (``headerData`` per section and role, each with its enum converted by Python code).
    Clickable, as the header a table view makes for itself is: a click sorts."""

    def __init__(self, orientation: Any, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(orientation, parent)
        self.setSectionsClickable(True)

    def paintEvent(self, event: Any) -> None:  # noqa: N802 (Qt API)
        super().paintEvent(event)


def combo(items: List[str], current: str = "") -> QtWidgets.QComboBox:
    box = QtWidgets.QComboBox()
    set_combo(box, items, current)
    return box


def set_combo(box: QtWidgets.QComboBox, items: List[str], current: str) -> None:
    """Replace a combo's items without firing its change signal."""
    blocked = box.blockSignals(True)
    box.clear()
    box.addItems(items)
    if current in items:
        box.setCurrentIndex(items.index(current))
    box.setEnabled(bool(items))
    box.blockSignals(blocked)


class StagePlacement(QtWidgets.QWidget):
    """One local/cloud choice per stage, in a row."""

    changed = QtCore.Signal(str, str)

    def __init__(self, placement: dict, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.boxes = {}
        for stage in placement:
            label = QtWidgets.QLabel(stage.capitalize())
            box = combo(place_choices(stage), placement.get(stage, "local"))
            box.setEnabled(len(place_choices(stage)) > 1)  # upload/download: shown, never offered elsewhere
            box.setObjectName(f"placement_{stage}")
            box.currentTextChanged.connect(lambda text, s=stage: self.changed.emit(s, text))
            layout.addWidget(label)
            layout.addWidget(box)
            layout.addSpacing(8)
            self.boxes[stage] = box
        layout.addStretch(1)

    def set_placement(self, placement: dict) -> None:
        for stage, box in self.boxes.items():
            set_combo(box, place_choices(stage), placement.get(stage, "local"))
            box.setEnabled(len(place_choices(stage)) > 1)


class ChoiceList(QtWidgets.QToolButton):
    """Pick one or several of a list (render layers, ROPs, cameras): a button showing the chosen
    ones that opens a menu of check boxes. ``changed`` carries the chosen names in list order."""

    changed = QtCore.Signal(list)

    def __init__(self, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self.setMenu(QtWidgets.QMenu(self))
        self._actions: Dict[str, Any] = {}

    def set_items(self, items: List[str], chosen: Iterable[str], labels: Optional[Dict[str, str]] = None) -> None:
        """Replace the items without firing ``changed``; ``labels`` say more than the name in the
        menu (a layer's own range and cameras), the button names the chosen ones."""
        menu = self.menu()
        menu.clear()
        self._actions = {}
        picked = set(chosen)
        for name in items:
            action = menu.addAction((labels or {}).get(name, name))
            action.setCheckable(True)
            action.setChecked(name in picked)
            action.toggled.connect(lambda _on: self._toggled())
            self._actions[name] = action
        self.setEnabled(bool(items))
        self._label()

    def items(self) -> List[str]:
        return list(self._actions)

    def labels(self) -> List[str]:
        """The menu's lines, as the artist reads them."""
        return [action.text() for action in self._actions.values()]

    def chosen(self) -> List[str]:
        return [name for name, action in self._actions.items() if action.isChecked()]

    def set_chosen(self, names: Iterable[str]) -> None:
        """What a click on the menu does, for scripts and tests: check ``names``, fire ``changed``."""
        wanted = set(names)
        for name, action in self._actions.items():
            blocked = action.blockSignals(True)
            action.setChecked(name in wanted)
            action.blockSignals(blocked)
        self._toggled()

    def currentText(self) -> str:  # noqa: N802 (reads like the combo box it replaced)
        return ", ".join(self.chosen())

    def _toggled(self) -> None:
        self._label()
        self.changed.emit(self.chosen())

    def _label(self) -> None:
        chosen = self.chosen()
        if not chosen:
            self.setText("(none)")
        else:
            self.setText(", ".join(chosen) if len(chosen) <= 2 else f"{chosen[0]} and {len(chosen) - 1} more")
        self.setToolTip("\n".join(chosen))


class StageBars(QtWidgets.QWidget):
    """One labelled progress bar per stage (the controller's ``ProgressModel``), each saying its
    speed and time left; bars appear as stages report and go when the model is cleared."""

    def __init__(self, parent: Optional[QtWidgets.QWidget] = None) -> None:
        super().__init__(parent)
        self.grid = QtWidgets.QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setColumnStretch(1, 1)
        self.bars: Dict[str, QtWidgets.QProgressBar] = {}
        self.labels: Dict[str, QtWidgets.QLabel] = {}

    def show_bars(self, bars: Iterable[Bar]) -> None:
        wanted = list(bars)
        for stage in [s for s in self.bars if s not in {b.stage for b in wanted}]:
            gone: List[QtWidgets.QWidget] = [self.bars.pop(stage), self.labels.pop(stage)]
            for old in gone:
                self.grid.removeWidget(old)
                old.deleteLater()
        for bar in wanted:
            widget = self.bars.get(bar.stage)
            if widget is None:
                row = len(self.bars)
                label = QtWidgets.QLabel(bar.stage.capitalize())
                widget = QtWidgets.QProgressBar()
                widget.setRange(0, 1000)
                widget.setTextVisible(True)
                self.grid.addWidget(label, row, 0)
                self.grid.addWidget(widget, row, 1)
                self.bars[bar.stage], self.labels[bar.stage] = widget, label
            widget.setValue(int(bar.fraction * 1000))
            words = bar.text.split(": ", 1)[-1]  # the label names the stage already
            widget.setFormat(words.replace("%", "%%"))
            widget.setToolTip(bar.text)
            widget.setStyleSheet("QProgressBar::chunk { background: #d64541; }" if bar.state == "failed" else "")


def draw_icon(size: int = 64) -> QtGui.QPixmap:
    """The cloudsubmit icon: a cloud with an upward arrow, drawn with QPainter so the shelf icon,
    the window icon and the PNG in icons/ are the same picture."""
    pix = QtGui.QPixmap(size, size)
    pix.fill(QtGui.QColor(0, 0, 0, 0))
    p = QtGui.QPainter(pix)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    s = size / 64.0
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QtGui.QColor(CLOUD_BLUE))
    for x, y, r in ((20, 34, 12), (34, 26, 16), (48, 36, 11)):
        p.drawEllipse(QtCore.QPointF(x * s, y * s), r * s, r * s)
    p.drawRoundedRect(QtCore.QRectF(8 * s, 34 * s, 50 * s, 13 * s), 6 * s, 6 * s)
    p.setBrush(QtGui.QColor("white"))
    arrow = QtGui.QPolygonF([QtCore.QPointF(x * s, y * s) for x, y in
                             ((32, 18), (42, 30), (36, 30), (36, 42), (28, 42), (28, 30), (22, 30))])
    p.drawPolygon(arrow)
    p.end()
    return pix
