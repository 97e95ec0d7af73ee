"""Frame specs (``1-100``, ``1-100x5``, ``1,5,10-20``), chunks and scout frames.

The syntax is checked here, in our words, before fileseq parses: ``N``, ``A-B``, ``A-BxS`` (every
S-th frame), items joined by commas. A range that counts down (``10-1``) is refused rather than
quietly read as ``1-10``, and a job holds at most :data:`MAX_FRAMES` frames (a typo such as
``1-10000000`` would otherwise take minutes and write a bundle of tens of megabytes). We always
rebuild FrameSets from integers (``FrameSet.from_iterable``) because fileseq 3.x is very slow on
long explicit comma lists."""
from __future__ import annotations

import math
import re
from typing import List, Sequence, Tuple

from .errors import FrameSpecError

MAX_FRAMES = 100_000
SYNTAX = "frames like 1-100, 1-100x5 (every 5th) or 1,5,10-20"
_NUM = r"-?\d+(?:\.0*)?"  # a whole frame, also as a host writes it (1.0)
_ITEM_RE = re.compile(rf"^({_NUM})(?:-({_NUM})(?:x({_NUM}))?)?$")


def _int(text: str) -> int:
    return int(float(text))


def rough_count(text: str) -> int:
    """An upper bound of the frames a spec names, without building them: the panel checks the
    field on every keystroke, and "1-100000000" must not cost seconds and gigabytes."""
    total = 0
    for item in (text or "").replace(" ", "").split(","):
        m = _ITEM_RE.match(item)
        if m and m.group(2) is not None:
            total += abs(_int(m.group(2)) - _int(m.group(1))) // max(1, _int(m.group(3) or "1")) + 1
        elif m:
            total += 1
    return total


def _check_syntax(spec: str, text: str) -> None:
    for item in text.split(","):
        m = _ITEM_RE.match(item)
        if not m:
            what = f"{item!r} is not a frame or a range" if item else "an empty item between commas"
            what += " (whole frames only)" if "." in item else ""
            raise FrameSpecError(f"bad frame spec {spec!r}: {what}; give {SYNTAX}")
        start, end, step = m.group(1), m.group(2), m.group(3)
        if end is not None and _int(end) < _int(start):
            raise FrameSpecError(f"bad frame spec {spec!r}: {item} counts down; write {end}-{start} "
                                 "(frames always render in order)")
        if step is not None and _int(step) < 1:
            raise FrameSpecError(f"bad frame spec {spec!r}: step {step} in {item}; a step is 1 or more")
    if rough_count(text) > MAX_FRAMES:
        raise FrameSpecError(f"bad frame spec {spec!r}: more than {MAX_FRAMES} frames, the most one job takes; "
                             "split the range into several jobs")


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
    """Sorted unique integer frames of ``spec``; raises :class:`FrameSpecError` naming the spec
    and showing the syntax."""
    import fileseq

    text = (spec or "").strip().replace(" ", "")
    if not text:
        raise FrameSpecError(f"frame spec is empty; give {SYNTAX}")
    _check_syntax(spec, text)
    try:
        values = list(fileseq.FrameSet(text))
    except Exception:  # fileseq raises several types; our syntax check should have caught them
        raise FrameSpecError(f"bad frame spec {spec!r}; give {SYNTAX}") from None
    frames = sorted({int(f) for f in values})
    if not frames:
        raise FrameSpecError(f"bad frame spec {spec!r}: no frames; give {SYNTAX}")
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
