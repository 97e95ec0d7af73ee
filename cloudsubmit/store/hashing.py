"""Content hashes: XXH3-128, hex. The name of every blob in the store."""
from __future__ import annotations

from typing import BinaryIO, Callable, Iterator, Optional

HASH_ALG = "xxh3_128"
_CHUNK = 4 * 1024 * 1024


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


def hash_file(path: str, on_bytes: Optional[Callable[[int], None]] = None) -> str:
    """Hash a file in 4 MiB blocks (constant memory whatever its size)."""
    import xxhash

    h = xxhash.xxh3_128()
    with open(path, "rb") as f:
        for block in iter_blocks(f):
            h.update(block)
            if on_bytes:
                on_bytes(len(block))
    return h.hexdigest()
