"""Running the controller's tasks off the UI thread.

A task is ``task(progress) -> result`` with no Qt and no host calls in it (the controller gathers
host data first). :class:`TaskRunner` runs it in a thread pool and delivers progress, the result or
the error back on the main thread through its own slots, so callbacks may touch widgets. Cancel sets
a flag the progress callback returns as ``False``: the core stops at its next safe point and raises
:class:`~cloudsubmit.errors.Cancelled`. Progress is throttled so 10,000 files do not mean 10,000
repaints."""
from __future__ import annotations

import gc
import sys
import threading
import time
from typing import Any, Callable, Dict, Optional

from Qt import QtCore

from ..progress import ProgressReport
from .services import Partial

THROTTLE_S = 0.05
# While a panel is open, how long a thread computing in Python may keep the GIL when the UI
# thread waits for it (CPython's default: 5 ms). Qt calls into Python once per cell it paints,
# and each call waits for the GIL anew: beside one busy Python thread (a scan or store check on
# a worker), a table repaint of ~100 cells took 0.4-0.6 s at 5 ms, 2-50 ms at 1 ms and 2-10 ms
# at 0.5 ms (measured on 2 idle cores; bench/bench_panel.py). A busy thread pays a few
# microseconds per extra switch.
UI_SWITCH_S = 0.0005


class _PanelInterpreter:
    """The two interpreter-wide settings a panel holds while any runner is alive, both given back
    as they were once the last one shuts down (a DCC's own state comes back with the panel's end):

    - the switch interval at most ``UI_SWITCH_S`` (see there);
    - the heap that existed when the first panel opened (the host's modules and objects, Qt's
      wrappers) frozen out of the cycle collector (``gc.freeze``). A full collection, which any
      thread's allocations can start while the UI thread waits for the GIL, walked all of it:
      20-25 ms each, and a Rescan's 100,000 new records start several (its longest UI block
      was 40-54 ms, 17-23 ms frozen; bench/bench_panel.py). Reference counting still frees
      those objects; only cycles among them that die while a panel is open wait for its close.
      A heap someone else froze first is left as it is."""

    holders = 0
    saved_switch = 0.0
    froze = False

    @classmethod
    def hold(cls) -> None:
        if cls.holders == 0:
            cls.saved_switch = sys.getswitchinterval()
            sys.setswitchinterval(min(cls.saved_switch, UI_SWITCH_S))
            cls.froze = gc.get_freeze_count() == 0
            if cls.froze:
                gc.freeze()
        cls.holders += 1

    @classmethod
    def release(cls) -> None:
        cls.holders -= 1
        if cls.holders == 0:
            sys.setswitchinterval(cls.saved_switch)
            if cls.froze:
                cls.froze = False
                gc.unfreeze()


class _Signals(QtCore.QObject):
    progress = QtCore.Signal(object)
    partial = QtCore.Signal(object)  # a task's result so far (services.Partial): never throttled
    finished = QtCore.Signal(object)
    failed = QtCore.Signal(object)


class Worker(QtCore.QRunnable):
    """One task on a pool thread. ``signals`` lives on the main thread (created there)."""

    def __init__(self, task: Callable[[Any], Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.task = task
        self.signals = _Signals()
        self._cancel = threading.Event()
        self._last = 0.0

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def _progress(self, rep: ProgressReport) -> bool:
        time.sleep(0)  # let the UI thread take the GIL: pure-Python work would otherwise starve it
        if isinstance(rep, Partial):
            self.signals.partial.emit(rep)
        now = time.monotonic()
        if now - self._last >= THROTTLE_S or (rep.total and rep.done >= rep.total):
            self._last = now
            self.signals.progress.emit(rep)
        return not self._cancel.is_set()

    def run(self) -> None:  # pool thread
        try:
            result = self.task(self._progress)
        except BaseException as exc:  # every failure goes back to the UI as words, never a crash
            self.signals.failed.emit(exc)
            return
        self.signals.finished.emit(result)


class TaskRunner(QtCore.QObject):
    """Starts workers and calls back on the main thread. Keeps workers alive until they end."""

    def __init__(self, parent: Optional[QtCore.QObject] = None, threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QtCore.QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._callbacks: Dict[int, tuple] = {}
        self._workers: Dict[int, Worker] = {}
        self._holds_interpreter = True
        _PanelInterpreter.hold()

    def run(self, task: Callable[[Any], Any], done: Callable[[Any], None], failed: Callable[[BaseException], None],
            progress: Optional[Callable[[ProgressReport], None]] = None,
            partial: Optional[Callable[[Any], None]] = None) -> Worker:
        """``partial`` hears what the task sends ahead of its result (a ``services.Partial``)."""
        worker = Worker(task)
        key = id(worker)
        self._workers[key] = worker
        self._callbacks[key] = (done, failed, progress)
        worker.signals.progress.connect(lambda rep, k=key: self._on_progress(k, rep))
        if partial is not None:
            worker.signals.partial.connect(lambda value, k=key: self._on_partial(k, value, partial))
        worker.signals.finished.connect(lambda res, k=key: self._on_end(k, 0, res))
        worker.signals.failed.connect(lambda exc, k=key: self._on_end(k, 1, exc))
        self.pool.start(worker)
        return worker

    def _on_progress(self, key: int, rep: ProgressReport) -> None:
        callbacks = self._callbacks.get(key)
        if callbacks and callbacks[2] is not None and not self._workers[key].cancelled:
            callbacks[2](rep)

    def _on_partial(self, key: int, value: Any, partial: Callable[[Any], None]) -> None:
        worker = self._workers.get(key)
        if worker is not None and not worker.cancelled:
            partial(value)

    def _on_end(self, key: int, which: int, value: Any) -> None:
        callbacks = self._callbacks.pop(key, None)
        self._workers.pop(key, None)
        if callbacks:
            callbacks[which](value)

    def busy(self) -> bool:
        return bool(self._workers)

    def cancel_all(self) -> None:
        for worker in list(self._workers.values()):
            worker.cancel()

    def shutdown(self, wait_ms: int = 5000) -> bool:
        """Cancel everything and wait (closing the panel must not leave threads behind)."""
        self.cancel_all()
        if self._holds_interpreter:
            self._holds_interpreter = False
            _PanelInterpreter.release()
        return self.pool.waitForDone(wait_ms)
