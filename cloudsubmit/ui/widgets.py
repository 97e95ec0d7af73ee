"""The panel's pieces. They render what the controller says and pass user input back to it; no
decision is made here. Qt only through Qt.py, fully-qualified enums (PySide2 and PySide6 alike)."""
from __future__ import annotations

from typing import Any, List, Optional

from Qt import QtCore, QtGui, QtWidgets

from ..units import human_size
from .controller import STATE_LABELS, SubmitController
from .models import DepRow
from ..vocabulary import IN_STORE, MISSING, TO_UPLOAD, place_choices

Qt = QtCore.Qt
ROLE_DISPLAY = Qt.ItemDataRole.DisplayRole
ROLE_TOOLTIP = Qt.ItemDataRole.ToolTipRole
ROLE_FOREGROUND = Qt.ItemDataRole.ForegroundRole
ROLE_ALIGN = Qt.ItemDataRole.TextAlignmentRole
ROLE_SORT = Qt.ItemDataRole.UserRole
COLUMNS = ("State", "File", "Size", "Node / attribute")
STATE_COLOURS = {IN_STORE: "#3f9b4f", TO_UPLOAD: "#3b7dd8", MISSING: "#d64541"}
ERROR_STYLE = "color: #d64541;"
CLOUD_BLUE = "#3b7dd8"


class DependencyModel(QtCore.QAbstractTableModel):
    """The controller's visible rows, read in place: no per-row items, so 10,000 files cost one
    list and a repaint of the rows on screen."""

    def __init__(self, controller: SubmitController, parent: Optional[QtCore.QObject] = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._brushes = {k: QtGui.QBrush(QtGui.QColor(v)) for k, v in STATE_COLOURS.items()}

    def rowCount(self, parent: Any = QtCore.QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self.controller.visible)

    def columnCount(self, parent: Any = QtCore.QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Any, role: int = ROLE_DISPLAY) -> Any:  # noqa: N802
        if role == ROLE_DISPLAY and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: Any, role: int = ROLE_DISPLAY) -> Any:
        if not index.isValid():
            return None
        row: DepRow = self.controller.visible[index.row()]
        col = index.column()
        if role == ROLE_DISPLAY:
            return (STATE_LABELS.get(row.state, row.state), row.path, human_size(row.size), row.source)[col]
        if role == ROLE_FOREGROUND and col == 0:
            return self._brushes.get(row.state)
        if role == ROLE_TOOLTIP:
            return f"{row.path}\n{row.kind} from {row.source}"
        if role == ROLE_ALIGN and col == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def sort(self, column: int, order: Any = Qt.SortOrder.AscendingOrder) -> None:
        keys = (lambda r: r.state, lambda r: r.path, lambda r: r.size or 0, lambda r: r.source)
        self.layoutAboutToBeChanged.emit()
        self.controller.visible.sort(key=keys[column], reverse=order == Qt.SortOrder.DescendingOrder)
        self.layoutChanged.emit()

    def refresh(self) -> None:
        self.beginResetModel()
        self.endResetModel()


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
