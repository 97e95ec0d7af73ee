"""A bounded worker pool whose progress is reported from the calling thread only.

Workers count bytes into a :class:`Meter`; the caller's thread polls it and calls the progress
callback, so a UI callback is never entered from two threads at once. A callback that returns
False sets ``meter.cancel``: workers stop at their next read, the pool drains, and the caller
decides what to keep (the upload writes an index shard for the blobs that did complete)."""
from __future__ import annotations

import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Tuple

from ..errors import Cancelled
from ..progress import ProgressCallback, ProgressReport, report


@dataclass
class Meter:
    stage: str
    total: int = 0
    bytes_total: int = 0
    done: int = 0
    bytes_done: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_bytes(self, n: int) -> None:
        if self.cancel.is_set():
            raise Cancelled(f"{self.stage} cancelled")
        with self._lock:
            self.bytes_done += n

    def file_done(self) -> None:
        with self._lock:
            self.done += 1

    def tick(self, progress: Optional[ProgressCallback], message: str = "") -> None:
        report(progress, ProgressReport(self.stage, self.done, self.total, self.bytes_done, self.bytes_total, message))


Outcome = Tuple[Any, Optional[BaseException], Any]  # (item, error, result)


def run_pool(fn: Callable[[Any], Any], items: Sequence[Any], threads: int, meter: Meter,
             progress: Optional[ProgressCallback]) -> Tuple[List[Outcome], bool]:
    """Run ``fn`` over ``items`` on ``threads`` workers. Returns every outcome and whether the
    progress callback cancelled. Worker exceptions are returned, never raised here."""
    outcomes: List[Outcome] = []
    cancelled = False

    def guarded(item: Any) -> Outcome:
        try:
            return (item, None, fn(item))
        except BaseException as exc:  # noqa: B902 - handed back to the caller
            return (item, exc, None)
        finally:
            meter.file_done()

    if not items:
        return outcomes, cancelled
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(items)))) as pool:
        pending = {pool.submit(guarded, it) for it in items}
        try:
            while pending:
                finished, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                outcomes.extend(f.result() for f in finished)
                if not cancelled:
                    try:
                        meter.tick(progress)
                    except Cancelled:
                        cancelled = True
                        meter.cancel.set()
        except KeyboardInterrupt:
            meter.cancel.set()  # workers stop at their next read instead of finishing everything
            raise
    return outcomes, cancelled
