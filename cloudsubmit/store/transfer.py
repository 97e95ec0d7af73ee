"""Run many hashes, gets and puts in a bounded thread pool, with one progress stream that can cancel.

Why one runner: the submitter's hashing and uploads, index verification, downloads on a node and
output uploads all need the same things: at most N at once (the network or the disk, not the CPU,
is the limit), aggregated bytes for one progress bar, retries of *transient* store failures (a
throttled or dropped connection) without double-counting bytes, and a stop at the first permanent
error or cancel that halts every worker at its next block so nothing is left half-written. The
progress callback is always called from the caller's thread, never a worker, so a Qt worker can
forward it to a signal and a CLI can print it.

Per-file outcomes that are not failures of the run (a source file that changed and is refused)
are the work's *result*, not an exception: the work function returns them and the caller sorts
them out, so one refused texture never stops the other 9,999."""
from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..errors import Cancelled, StoreError
from ..progress import ProgressCallback, ProgressReport, report
from ..tally import Tally
from .backend import BytesCallback

#: A unit of work: called with an ``on_bytes`` callback it must pass to the backend call. Its
#: return value is kept in :attr:`TransferSummary.results` (same order as the items).
Work = Callable[[BytesCallback], Any]


@dataclass
class Meter(Tally):
    """Counts shared by the workers; only the caller's thread reports them."""

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

    def tick(self, progress: Optional[ProgressCallback], message: str = "") -> None:
        report(progress, ProgressReport(self.stage, self.done, self.total, self.bytes_done, self.bytes_total, message))


@dataclass
class TransferItem:
    __slots__ = ("label", "size", "work")  # one per file of a 100,000-file hash or upload run
    label: str  # the key or path, for error messages
    size: int  # expected bytes (0 when unknown), for the progress total
    work: Work


#: Called on the caller's thread with an item's index and its work's return value as soon as it
#: finishes (also for the items that still finish while a stop is under way).
OnResult = Callable[[int, Any], None]


@dataclass
class TransferSummary(Tally):
    files: int = 0
    bytes: int = 0
    retries: int = 0
    seconds: float = 0.0
    #: per item, in item order: the work's return value, or None for an item that did not finish
    #: (all None when the run had an ``on_result``: those were handed over, not kept)
    results: List[Any] = field(default_factory=list)


def mark_transient(exc: StoreError, budget: Optional[float] = None) -> StoreError:
    """Flag a StoreError as worth retrying (throttling, a dropped connection, a 5xx).
    Backends raise ``mark_transient(StoreError(...))``; everything else fails at once.
    ``budget`` (seconds): no retry starts once the work has been trying this long, so a dead
    endpoint fails in bounded time whatever the attempt count (``store.s3.retry_budget_s``)."""
    exc.transient = True  # type: ignore[attr-defined]
    exc.budget = budget  # type: ignore[attr-defined]
    return exc


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, StoreError) and bool(getattr(exc, "transient", False))


def _gave_up(exc: StoreError, attempts: int, started: float) -> StoreError:
    """The last transient failure, saying that it was retried (still one line, same exit code)."""
    if attempts < 2:
        return exc
    spent = time.monotonic() - started
    return StoreError(f"{exc.message} (gave up after {attempts} attempts in {spent:.0f} s)", exit_code=exc.exit_code)


def _out_of_retries(exc: StoreError, attempt: int, attempts: int, started: float) -> bool:
    budget = getattr(exc, "budget", None)
    return attempt >= attempts or (budget is not None and time.monotonic() - started >= budget)


def with_retries(fn: Callable[[], Any], attempts: int = 3, backoff: float = 0.5) -> Any:
    """``fn()``, tried again after a transient StoreError (a reset mid-body, a 5xx burst) within
    ``attempts`` and the error's time budget: for single requests outside the transfer runner,
    such as reading an index shard."""
    started = time.monotonic()
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except StoreError as exc:
            if not is_transient(exc):
                raise
            if _out_of_retries(exc, attempt, attempts, started):
                raise _gave_up(exc, attempt, started) from None
            time.sleep(backoff * (2 ** (attempt - 1)))
    raise AssertionError("unreachable")


def _run_one(item: TransferItem, meter: Meter, retries: List[int], attempts: int, backoff: float) -> Any:
    started = time.monotonic()
    for attempt in range(1, attempts + 1):
        moved = [0]

        def on_bytes(n: int) -> None:
            meter.add_bytes(n)  # raises Cancelled once the caller cancels
            moved[0] += n

        if meter.cancel.is_set():
            raise Cancelled(f"{meter.stage} cancelled")
        try:
            return item.work(on_bytes)
        except StoreError as exc:
            if not is_transient(exc):
                raise
            if _out_of_retries(exc, attempt, attempts, started):
                raise _gave_up(exc, attempt, started) from None
            meter.add_bytes(-moved[0])  # the retry moves them again
            retries.append(attempt)
            if meter.cancel.wait(backoff * (2 ** (attempt - 1))):
                raise Cancelled(f"{meter.stage} cancelled") from None
    raise AssertionError("unreachable")


def _put_done(finished: "queue.Queue[Tuple[int, Future]]", idx: int, fut: Future) -> None:
    finished.put((idx, fut))


#: items queued in the pool per thread: enough to keep every thread busy, and a 100,000-file run
#: holds a few dozen futures (each ~1.4 KB with its condition and locks) instead of 100,000
WINDOW_PER_THREAD = 4


class _Feeder:
    """Submits the items to the pool a window at a time: at most ``window`` futures exist at
    once, whatever the item count, so the runner's own memory does not grow with the work."""

    def __init__(self, pool: ThreadPoolExecutor, items: Sequence[TransferItem], meter: Meter, retries: List[int],
                 attempts: int, backoff: float, window: int, on_result: Optional[OnResult] = None) -> None:
        self.pool, self.items, self.meter, self.retries = pool, items, meter, retries
        self.on_result = on_result
        self.attempts, self.backoff, self.window = attempts, backoff, window
        self.finished: "queue.Queue[Tuple[int, Future]]" = queue.Queue()  # O(1) per completion
        self.running: Dict[int, Future] = {}
        self.next = 0

    def fill(self) -> None:
        """Submit items until ``window`` are queued or running (none once a stop began)."""
        while self.next < len(self.items) and len(self.running) < self.window and not self.meter.cancel.is_set():
            idx, self.next = self.next, self.next + 1
            fut = self.pool.submit(_run_one, self.items[idx], self.meter, self.retries, self.attempts, self.backoff)
            self.running[idx] = fut
            fut.add_done_callback(partial(_put_done, self.finished, idx))

    def done(self, idx: int) -> None:
        self.running.pop(idx, None)

    def stop(self) -> None:
        """No more submissions; what has not started yet is cancelled."""
        self.meter.cancel.set()
        for fut in list(self.running.values()):
            fut.cancel()


def run_transfers(
    items: Sequence[TransferItem],
    *,
    threads: int = 8,
    stage: str = "transfer",
    progress: Optional[ProgressCallback] = None,
    attempts: int = 3,
    backoff: float = 0.5,
    interval: float = 0.1,
    summary: Optional[TransferSummary] = None,
    on_result: Optional[OnResult] = None,
) -> TransferSummary:
    """Run ``items`` with at most ``threads`` at once (and at most ``WINDOW_PER_THREAD`` per
    thread submitted ahead: memory does not grow with the item count). Raises the first
    permanent error (or :class:`Cancelled`) after every running item has stopped, so the caller
    can clean up knowing no worker still writes; pass your own ``summary`` to learn which items
    did complete before that (an upload records those). ``progress`` gets ``ProgressReport(stage,
    done, total, bytes_done, bytes_total)`` at least every ``interval`` seconds while work is running.
    ``on_result(index, value)`` takes each result as it comes instead of ``summary.results``: a
    100,000-file run then holds a window of results, not one per file (``items`` may be a lazy
    Sequence for the same reason: an item is asked for when it is submitted)."""
    start = time.monotonic()
    meter = Meter(stage, total=len(items), bytes_total=sum(max(0, i.size) for i in items))
    retries: List[int] = []
    summary = summary if summary is not None else TransferSummary()
    summary.results = [None] * len(items)
    if not items:
        meter.tick(progress)
        return summary
    workers = max(1, min(threads, len(items)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cs-transfer")
    feeder = _Feeder(pool, items, meter, retries, max(1, attempts), backoff, workers * WINDOW_PER_THREAD, on_result)
    error: Optional[BaseException] = None
    try:
        feeder.fill()
        error = _drain(feeder, summary, progress, interval)
    except BaseException as exc:  # Cancelled from the callback, KeyboardInterrupt
        error = exc
    finally:
        if error is not None:
            feeder.stop()
        pool.shutdown(wait=True)
    summary.bytes, summary.retries = meter.bytes_done, len(retries)
    summary.seconds = time.monotonic() - start
    if error is not None:
        _keep_finished(feeder, summary)
        raise error
    return summary


def _drain(feeder: _Feeder, summary: TransferSummary, progress: Optional[ProgressCallback],
           interval: float) -> Optional[BaseException]:
    """Collect results as they finish, each in O(1) (a queue, not a wait on every pending future),
    topping the pool's window up after each. Reports after each batch of completions, so a cancel
    takes effect within one batch, and every ``interval`` seconds while long transfers run.
    Returns the first error, at which point the caller stops the rest."""
    meter, remaining = feeder.meter, len(feeder.items)
    while remaining:
        try:
            idx, fut = feeder.finished.get(timeout=interval)
        except queue.Empty:
            meter.tick(progress)  # bytes of long transfers
            continue
        while True:
            remaining -= 1
            feeder.done(idx)
            error = _collect(fut, idx, feeder, summary)
            if error is not None:
                return error
            meter.done += 1  # only this thread writes it
            try:
                idx, fut = feeder.finished.get_nowait()
            except queue.Empty:
                break
        feeder.fill()
        meter.tick(progress)
    return None


def _keep_finished(feeder: _Feeder, summary: TransferSummary) -> None:
    """After a stop: the items that still completed while the others were being stopped."""
    while True:
        try:
            idx, fut = feeder.finished.get_nowait()
        except queue.Empty:
            return
        if not fut.cancelled():
            _collect(fut, idx, feeder, summary)


def _collect(fut: Future, idx: int, feeder: _Feeder, summary: TransferSummary) -> Optional[BaseException]:
    exc = fut.exception()
    if exc is None:
        summary.files += 1
        if feeder.on_result is None:
            summary.results[idx] = fut.result()
        else:
            feeder.on_result(idx, fut.result())
        return None
    if isinstance(exc, (StoreError, Cancelled)):
        return exc
    if isinstance(exc, OSError):
        return StoreError(f"{feeder.items[idx].label}: {exc.strerror or exc}")
    return exc
