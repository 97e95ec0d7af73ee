"""Run many gets/puts in a bounded thread pool, with one progress stream that can cancel.

Why one runner: downloads on a node, output uploads and the submitter's uploads all need the same
things: at most N transfers at once (the network, not the CPU, is the limit), aggregated bytes for
one progress bar, retries of *transient* store failures (a throttled or dropped connection) without
double-counting bytes, and a cancel that stops every worker at its next block so nothing is left
half-written. The progress callback is always called from the caller's thread, never a worker, so a
Qt worker can forward it to a signal and a CLI can print it."""
from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Tuple

from ..errors import Cancelled, StoreError
from ..progress import ProgressCallback, ProgressReport, report
from .backend import BytesCallback

#: A unit of work: called with an ``on_bytes`` callback it must pass to the backend call. Its
#: return value is kept in :attr:`TransferSummary.results` (same order as the items).
Work = Callable[[BytesCallback], Any]


@dataclass
class TransferItem:
    label: str  # the key or path, for error messages
    size: int  # expected bytes (0 when unknown), for the progress total
    work: Work


@dataclass
class TransferSummary:
    files: int = 0
    bytes: int = 0
    retries: int = 0
    seconds: float = 0.0
    results: List[Any] = field(default_factory=list)


def mark_transient(exc: StoreError) -> StoreError:
    """Flag a StoreError as worth retrying (throttling, a dropped connection, a 5xx).
    Backends raise ``mark_transient(StoreError(...))``; everything else fails at once."""
    exc.transient = True  # type: ignore[attr-defined]
    return exc


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, StoreError) and bool(getattr(exc, "transient", False))


class _Shared:
    """State the workers update and the caller's thread reads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cancel = threading.Event()
        self.bytes = 0
        self.retries = 0

    def add(self, n: int) -> None:
        if self.cancel.is_set():
            raise Cancelled("transfer cancelled")
        with self.lock:
            self.bytes += n


def _run_one(item: TransferItem, shared: _Shared, attempts: int, backoff: float) -> Any:
    for attempt in range(1, attempts + 1):
        moved = [0]

        def on_bytes(n: int) -> None:
            shared.add(n)
            moved[0] += n

        if shared.cancel.is_set():
            raise Cancelled("transfer cancelled")
        try:
            return item.work(on_bytes)
        except StoreError as exc:
            with shared.lock:
                shared.bytes -= moved[0]  # the retry moves them again
            if not is_transient(exc) or attempt == attempts:
                raise
            with shared.lock:
                shared.retries += 1
            if shared.cancel.wait(backoff * (2 ** (attempt - 1))):
                raise Cancelled("transfer cancelled") from None
    raise AssertionError("unreachable")


def run_transfers(
    items: Sequence[TransferItem],
    *,
    threads: int = 8,
    stage: str = "transfer",
    progress: Optional[ProgressCallback] = None,
    attempts: int = 3,
    backoff: float = 0.5,
    interval: float = 0.1,
) -> TransferSummary:
    """Run ``items`` with at most ``threads`` at once. Raises the first non-transient error (or
    :class:`Cancelled`) after every running item has stopped, so the caller can clean up knowing
    no worker still writes. ``progress`` gets ``ProgressReport(stage, done, total, bytes_done,
    bytes_total)`` at least every ``interval`` seconds while work is running."""
    start = time.monotonic()
    shared = _Shared()
    total_bytes = sum(max(0, i.size) for i in items)
    summary = TransferSummary(results=[None] * len(items))
    if not items:
        report(progress, ProgressReport(stage, 0, 0, 0, 0))
        return summary
    pool = ThreadPoolExecutor(max_workers=max(1, min(threads, len(items))), thread_name_prefix="cs-transfer")
    finished: "queue.Queue[Tuple[int, Future]]" = queue.Queue()  # O(1) per completion, any item count
    futures: List[Future] = []
    error: Optional[BaseException] = None
    try:
        for idx, item in enumerate(items):
            fut = pool.submit(_run_one, item, shared, max(1, attempts), backoff)
            fut.add_done_callback(lambda f, i=idx: finished.put((i, f)))
            futures.append(fut)
        error = _drain(finished, items, summary, shared, stage, total_bytes, progress, interval)
    except BaseException as exc:  # Cancelled from the callback, KeyboardInterrupt
        error = exc
    finally:
        if error is not None:
            shared.cancel.set()
            for fut in futures:
                fut.cancel()
        pool.shutdown(wait=True)
    if error is not None:
        raise error
    summary.bytes, summary.retries = shared.bytes, shared.retries
    summary.seconds = time.monotonic() - start
    return summary


def _drain(finished: "queue.Queue[Tuple[int, Future]]", items: Sequence[TransferItem], summary: TransferSummary,
           shared: _Shared, stage: str, total_bytes: int, progress: Optional[ProgressCallback],
           interval: float) -> Optional[BaseException]:
    """Collect results as they finish; report at most every ``interval`` seconds and at the end.
    Returns the first error, at which point the caller stops the rest."""
    remaining, last = len(items), 0.0
    while remaining:
        try:
            idx, fut = finished.get(timeout=interval)
        except queue.Empty:
            pass
        else:
            remaining -= 1
            error = _collect(fut, idx, items, summary)
            if error is not None:
                return error
        now = time.monotonic()
        if now - last >= interval or not remaining:
            report(progress, ProgressReport(stage, summary.files, len(items), shared.bytes, total_bytes))
            last = now
    return None


def _collect(fut: Future, idx: int, items: Sequence[TransferItem], summary: TransferSummary) -> Optional[BaseException]:
    exc = fut.exception()
    if exc is None:
        summary.results[idx] = fut.result()
        summary.files += 1
        return None
    if isinstance(exc, (StoreError, Cancelled)):
        return exc
    if isinstance(exc, OSError):
        return StoreError(f"{items[idx].label}: {exc.strerror or exc}")
    return exc
