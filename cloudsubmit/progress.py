"""Progress reporting that can cancel, in the style of deadline-cloud's job attachments.

Long operations take ``progress: ProgressCallback | None``. They call it with a
:class:`ProgressReport`; when the callback returns ``False`` the operation stops at the next safe
point and raises :class:`~cloudsubmit.errors.Cancelled`. A UI worker thread passes a callback that
forwards to a Qt signal; the CLI passes one that prints."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Callable, Deque, Dict, Optional, Tuple

from .errors import Cancelled


@dataclass
class ProgressReport:
    stage: str  # "scan", "hash", "resolve", "upload", "download", "write", ...
    done: int = 0
    total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    message: str = ""

    @property
    def fraction(self) -> float:
        if self.bytes_total:
            return min(1.0, self.bytes_done / self.bytes_total)
        if self.total:
            return min(1.0, self.done / self.total)
        return 0.0


ProgressCallback = Callable[[ProgressReport], Optional[bool]]


def report(progress: Optional[ProgressCallback], rep: ProgressReport) -> None:
    """Send ``rep`` to ``progress`` and raise :class:`Cancelled` if it asks to stop.

    A callback returning ``None`` means "carry on", so simple lambdas and print functions work."""
    if progress is None:
        return
    if progress(rep) is False:
        raise Cancelled(f"{rep.stage} cancelled")


@dataclass
class Rate:
    """How fast a stage goes and how long it has left, from the reports seen so far."""

    per_second: float = 0.0          # bytes per second when the stage counts bytes, else items
    seconds_left: Optional[float] = None
    in_bytes: bool = False


class ProgressMeter:
    """Speed and time left per stage, measured over the last ``window`` seconds of reports, so a
    stall shows as a falling speed and a burst does not promise too much. ``clock`` is a parameter
    because both the panel and the CLI draw from it, and tests drive it without waiting."""

    def __init__(self, clock: Optional[Callable[[], float]] = None, window: float = 5.0) -> None:
        import time

        self._clock = clock or time.monotonic
        self._window = window
        self._samples: Dict[str, Deque[Tuple[float, int]]] = {}

    def update(self, rep: ProgressReport) -> Rate:
        in_bytes = bool(rep.bytes_total)
        amount, total = (rep.bytes_done, rep.bytes_total) if in_bytes else (rep.done, rep.total)
        now = self._clock()
        samples = self._samples.setdefault(rep.stage, deque())
        if samples and amount < samples[-1][1]:  # the stage started again (a retry, a new chunk)
            samples.clear()
        samples.append((now, amount))
        while len(samples) > 2 and now - samples[1][0] >= self._window:
            samples.popleft()
        (t0, a0), (t1, a1) = samples[0], samples[-1]
        speed = (a1 - a0) / (t1 - t0) if t1 > t0 else 0.0
        left = (total - amount) / speed if speed > 0 and total else None
        return Rate(speed, left, in_bytes)


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def progress_text(rep: ProgressReport, rate: Optional[Rate] = None) -> str:
    """One line for a person: ``upload: 3/10 files, 12.0 MB of 40.0 MB, 5.2 MB/s, about 6 s
    left``. The CLI's progress line and the panel's bars say the same thing."""
    from .units import human_size

    parts = [f"{rep.stage}: {rep.done}/{rep.total}" if rep.total else f"{rep.stage}: {rep.done}"]
    if rep.bytes_total:
        parts.append(f"{human_size(rep.bytes_done)} of {human_size(rep.bytes_total)}")
    if rate is not None and rate.per_second > 0:
        parts.append(f"{human_size(rate.per_second)}/s" if rate.in_bytes else f"{rate.per_second:.1f}/s")
        if rate.seconds_left is not None:
            parts.append(f"about {_duration(rate.seconds_left)} left")
    text = ", ".join(parts)
    return f"{text}  {rep.message[-60:]}" if rep.message else text
