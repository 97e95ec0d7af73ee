"""Content hashes: XXH3-128, hex. The name of every blob in the store.

Hashing must run at the speed of a read: each thread reads into one reused buffer (no new
``bytes`` per block for the allocator to fill and free) and does nothing per block beyond the
update and the progress count."""
from __future__ import annotations

import threading
from typing import BinaryIO, Callable, Iterator, Optional

HASH_ALG = "xxh3_128"
_CHUNK = 4 * 1024 * 1024
_buffers = threading.local()  # one block buffer per thread, reused for every file it hashes


def hash_bytes(data: bytes) -> str:
    import xxhash

    return xxhash.xxh3_128_hexdigest(data)


def iter_blocks(f: BinaryIO, chunk: int = _CHUNK) -> Iterator[bytes]:
    """``f``'s content in blocks until EOF: constant memory whatever the file's size."""
    while True:
        block = f.read(chunk)
        if not block:
            return
        yield block


def _buffer() -> memoryview:
    view = getattr(_buffers, "view", None)
    if view is None:
        view = _buffers.view = memoryview(bytearray(_CHUNK))
    return view


def hash_file(path: str, on_bytes: Optional[Callable[[int], None]] = None) -> str:
    """Hash a file in 4 MiB blocks read into this thread's reused buffer (constant memory
    whatever its size; no allocation per block)."""
    import xxhash

    h = xxhash.xxh3_128()
    view = _buffer()
    with open(path, "rb", buffering=0) as f:
        readinto, update = f.readinto, h.update
        while True:
            n = readinto(view)
            if not n:
                break
            update(view[:n] if n < _CHUNK else view)
            if on_bytes:
                on_bytes(n)
    return h.hexdigest()
