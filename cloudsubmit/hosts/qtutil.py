"""The few Qt look-ups the host adapters share (Qt imported only when called)."""
from __future__ import annotations

from typing import Any


def top_level_widget(object_name: str) -> Any:
    """The application's top-level widget named ``object_name`` (Maya's is "MayaWindow"), found
    without shiboken so it works the same on PySide2 and PySide6."""
    from Qt import QtWidgets

    app = QtWidgets.QApplication.instance()
    if app is None:
        return None
    for widget in app.topLevelWidgets():
        if widget.objectName() == object_name:
            return widget
    return None
