"""Pausing Python's cyclic garbage collector while a reader or a resolve builds its records.

A large scene gives 10^5 nodes and references, a large shot 10^5 file states: small objects
that hold no reference cycles. With
the collector on, every few hundred allocations start a collection, and each full one walks every
object still alive, so a read spends about a third of its time walking its own records (measured
on the bench scenes of ``bench/bench_scan_ma.py`` and ``bench_scan_mb.py``). Reference counting
frees everything as usual; only the cycle search waits until the read is over."""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def paused_gc() -> Iterator[None]:
    """Collector off for the block, back on after it (even on error) if it was on before. Safe
    with readers on several threads: whichever ends last leaves it as it found it, or on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
