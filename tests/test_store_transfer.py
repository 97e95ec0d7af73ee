"""The transfer runner's own memory does not grow with the item count: it submits a window of
items per thread, collects results in item order, and stops submitting at the first permanent
error or cancel (the items after the window are never started)."""
from __future__ import annotations

import threading
import tracemalloc

import pytest

from cloudsubmit.errors import Cancelled, StoreError
from cloudsubmit.store.transfer import WINDOW_PER_THREAD, TransferItem, TransferSummary, run_transfers


def _items(count: int, work) -> list:
    return [TransferItem(f"k{i}", 1, lambda on_bytes, i=i: work(i, on_bytes)) for i in range(count)]


def _echo(i: int, on_bytes) -> int:
    on_bytes(1)
    return i


def test_twenty_thousand_items_cost_the_runner_a_results_list_not_a_future_each():
    items = _items(20_000, _echo)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        summary = run_transfers(items, threads=4)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert summary.results == list(range(20_000)) and summary.files == 20_000 and summary.bytes == 20_000
    assert peak < 3_000_000  # 20,000 futures alone held ~28 MB


def test_a_permanent_error_stops_submitting_so_later_items_never_start():
    started = []
    lock = threading.Lock()

    def work(i: int, on_bytes):
        with lock:
            started.append(i)
        if i == 3:
            raise StoreError("cas/3: refused by the store")
        return i

    summary = TransferSummary()
    with pytest.raises(StoreError, match="cas/3"):
        run_transfers(_items(10_000, work), threads=2, summary=summary)
    assert max(started) < 3 + 1 + 2 * WINDOW_PER_THREAD  # nothing past the window was ever handed out
    assert summary.results[:3] == [0, 1, 2] and all(r is None for r in summary.results[20:])


def test_a_cancel_from_the_progress_callback_stops_the_rest():
    started = []

    def work(i: int, on_bytes):
        started.append(i)
        on_bytes(1)
        return i

    def progress(report):
        if report.done >= 5:
            raise Cancelled("hash cancelled")

    with pytest.raises(Cancelled):
        run_transfers(_items(5_000, work), threads=1, progress=progress)
    assert len(started) < 5 + 2 * WINDOW_PER_THREAD + 2
