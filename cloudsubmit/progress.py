"""Progress reporting that can cancel, in the style of deadline-cloud's job attachments.

Long operations take ``progress: ProgressCallback | None``. They call it with a
:class:`ProgressReport`; when the callback returns ``False`` the operation stops at the next safe
point and raises :class:`~cloudsubmit.errors.Cancelled`. A UI worker thread passes a callback that
forwards to a Qt signal; the CLI passes one that prints."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

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
