"""Work-arounds for Qt binding defects and Qt5/Qt6 differences, applied only where they apply.

Some PySide6 builds (seen with 6.12.0 on Python 3.11) drop one reference to ``None`` on every call
of a method that returns nothing. Before Python 3.12, ``None`` is an ordinary object: after a few
thousand such calls its count reaches zero and the interpreter aborts with "deallocating None",
taking the artist's session with it. We measure the defect once and, only when present, give
``None`` spare references and top them up, so a long panel session cannot crash."""
from __future__ import annotations

import sys
from typing import Any

SPARE = 1_000_000        # references added at a time
LOW_WATER = SPARE // 2   # add more when the count falls below this
_state = {"checked": False, "leaks": False, "added": 0}


def binding_leaks_none() -> bool:
    """True when a void Qt call loses a reference to None in this process (measured once)."""
    if not _state["checked"]:
        _state["checked"] = True
        if sys.version_info < (3, 12):  # immortal None from 3.12: nothing can go wrong
            from Qt import QtCore

            probe = QtCore.QObject()
            before = sys.getrefcount(None)
            for _ in range(32):
                probe.setObjectName("cloudsubmit-probe")
            _state["leaks"] = sys.getrefcount(None) <= before - 16
    return bool(_state["leaks"])


def guard_none_refcount() -> int:
    """Keep ``None`` alive under a leaking binding; returns how many references were added so far.
    Cheap enough to call on every status refresh.

    The references are added to the count directly (``ob_refcnt`` is the first field of every
    object in CPython before 3.12) rather than held in a list: a list would be freed when the
    interpreter shuts down, and None would die then instead."""
    if binding_leaks_none() and (not _state["added"] or sys.getrefcount(None) < LOW_WATER):
        import ctypes

        ctypes.c_ssize_t.from_address(id(None)).value += SPARE
        _state["added"] += SPARE
    return _state["added"]


def standalone_application(argv: list) -> Any:
    """The running QApplication, or a new one for ``cloudsubmit panel`` outside a DCC.

    Qt6 scales for high-DPI screens by default; Qt5 (PySide2, e.g. ``mayapy -m cloudsubmit panel``)
    only when asked before the application exists, else the panel is postage-stamp sized on a 4K
    monitor. Inside Maya/Houdini the host owns the application and its settings: we never touch them."""
    from Qt import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance()
    if app is not None:
        return app
    if QtCore.qVersion().startswith("5."):
        for name in ("AA_EnableHighDpiScaling", "AA_UseHighDpiPixmaps"):
            QtCore.QCoreApplication.setAttribute(getattr(QtCore.Qt, name), True)
    return QtWidgets.QApplication(argv)
