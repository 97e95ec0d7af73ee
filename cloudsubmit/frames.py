"""Frame specs (``1-100``, ``1-100x5``, ``1,5,10-20``), chunks and scout frames.

fileseq parses; we always rebuild FrameSets from integers (``FrameSet.from_iterable``) because
fileseq 3.x is very slow on long explicit comma lists."""
from __future__ import annotations

import math
from typing import List, Sequence, Tuple

from .errors import FrameSpecError


def whole_range(start: float, end: float, step: float = 1) -> Tuple[int, int, int]:
    """A scene's start/end/step (a Maya render range, a Houdini ``$FSTART``/``$FEND``/``$FINC``,
    a USD stage's time codes) as the whole frames cloudsubmit renders. Maya renders ``start,
    start + by, ...`` up to ``end``; whole frames only here, so a fractional start or end goes to
    the whole frame at or below it (``floor``: 1001.5 -> 1001, -1.5 -> -2) and a step below 1
    is 1. An end before the start is the start frame alone. The one place this is decided: the
    scanner, the submit call and the panel's first guess all ask here."""
    first, last = int(math.floor(start)), int(math.floor(end))
    return first, max(first, last), max(1, int(step or 1))


def range_frames(start: float, end: float, step: float = 1) -> List[int]:
    """The frames of :func:`whole_range`: ``(1, 10, 3)`` -> ``[1, 4, 7, 10]``."""
    first, last, by = whole_range(start, end, step)
    return list(range(first, last + 1, by))


def range_spec(start: float, end: float, step: float = 1) -> str:
    """The frame spec of :func:`whole_range`: ``(1, 100, 5)`` -> ``"1-100x5"``, ``(17, 17, 1)`` -> ``"17"``."""
    first, last, by = whole_range(start, end, step)
    if last == first:
        return str(first)
    return f"{first}-{last}" + (f"x{by}" if by > 1 else "")


def parse_frames(spec: str) -> List[int]:
    """Sorted unique integer frames of ``spec``; raises :class:`FrameSpecError` naming the spec."""
    import fileseq

    text = (spec or "").strip().replace(" ", "")
    if not text:
        raise FrameSpecError("frame spec is empty")
    try:
        values = list(fileseq.FrameSet(text))
    except Exception as exc:  # fileseq raises several types; all mean "bad spec"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FrameSpecError(f"bad frame spec {spec!r}: {reason}") from None
    # fileseq reads "1.5" as a subframe; int() would quietly make it frame 1 and render the wrong frame
    sub = next((v for v in values if v != int(v)), None)
    if sub is not None:
        raise FrameSpecError(f"bad frame spec {spec!r}: subframe {sub} (whole frames only)")
    frames = sorted({int(f) for f in values})
    if not frames:
        raise FrameSpecError(f"bad frame spec {spec!r}: no frames")
    return frames


def compact(frames: Sequence[int]) -> str:
    """The shortest fileseq spec for ``frames`` (``[1,2,3,5]`` -> ``"1-3,5"``)."""
    import fileseq

    if not frames:
        return ""
    return str(fileseq.FrameSet.from_iterable(sorted(set(int(f) for f in frames)), sort=True))


def chunk(frames: Sequence[int], size: int) -> List[List[int]]:
    """Split ``frames`` into consecutive groups of at most ``size`` frames, in order."""
    if size < 1:
        raise FrameSpecError(f"chunk size must be at least 1, got {size}")
    ordered = sorted(set(frames))
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def scout_frames(frames: Sequence[int]) -> List[int]:
    """First, middle and last frame: rendered before the rest so a broken scene fails fast."""
    ordered = sorted(set(frames))
    if not ordered:
        return []
    picks = [ordered[0], ordered[len(ordered) // 2], ordered[-1]]
    return sorted(set(picks))
