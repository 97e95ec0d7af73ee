"""Work-arounds for Qt binding defects, applied only where they are detected.

Some PySide6 builds (seen with 6.12.0 on Python 3.11) drop one reference to ``None`` on every call
of a method that returns nothing. Before Python 3.12, ``None`` is an ordinary object: after a few
thousand such calls its count reaches zero and the interpreter aborts with "deallocating None",
taking the artist's Maya or Houdini session with it. We measure the defect once and, when present,
hold spare references to ``None`` and top them up, so a long panel session cannot crash."""
from __future__ import annotations

import sys
from typing import List

SPARE = 1_000_000        # spare references per block (8 MB)
LOW_WATER = SPARE // 2   # add a block when the count falls below this
_blocks: List[list] = []
_state = {"checked": False, "leaks": False}


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
    return _state["leaks"]


def guard_none_refcount() -> int:
    """Keep ``None`` alive under a leaking binding; returns how many spare blocks are held. Cheap
    enough to call on every status refresh."""
    if binding_leaks_none() and (not _blocks or sys.getrefcount(None) < LOW_WATER):
        _blocks.append([None] * SPARE)
    return len(_blocks)
