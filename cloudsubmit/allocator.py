"""Allocator tuning for a cloudsubmit process of its own (``python -m cloudsubmit``), never for a
host application that imports the package.

A multipart upload holds its parts (16 MiB each by default) as bytes objects, made and freed on
several threads. glibc's malloc serves such blocks with mmap at first, but after the first one is
freed it raises its mmap threshold above that size (the "dynamic threshold", up to 32 MiB), so
later parts come from per-thread heaps that never shrink back: measured on four 128 MiB blobs,
the upload then held 320 MB beyond a one-file upload with ``store.s3.upload_memory_mb`` at 64.
Pinning the threshold keeps every block of 4 MiB and more on mmap, returned to the system when
freed (bench/bench_store_upload_memory.py prints the figures)."""
from __future__ import annotations

import ctypes
import sys

#: glibc's malloc.h: ``mallopt(M_MMAP_THRESHOLD, bytes)`` sets the threshold and ends its dynamic
#: adjustment.
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 4 * 1024 * 1024


def pin_mmap_threshold(nbytes: int = MMAP_THRESHOLD) -> bool:
    """Serve allocations of ``nbytes`` and more with mmap for the rest of this process. True
    when the C library took it; False elsewhere (not Linux, a libc without ``mallopt`` such as
    musl's), where the default allocator behaviour stays."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, nbytes) == 1
