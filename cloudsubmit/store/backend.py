"""The one small interface every store backend implements (a directory, S3, S3-compatible).

Keys are POSIX strings relative to the store root, laid out by :mod:`cloudsubmit.storekeys`. Every write is all-or-nothing: a reader never sees a partial object."""
from __future__ import annotations

import contextlib
import io
from abc import ABC, abstractmethod
from typing import Callable, ContextManager, Iterable, Iterator, List, Optional, Protocol, Tuple

BytesCallback = Callable[[int], None]  # called with the number of bytes just moved
_HEX = frozenset("0123456789abcdef")


class Readable(Protocol):
    """What :meth:`Backend.put_fileobj` reads from: a binary file, or the upload's verifying reader."""

    def read(self, amount: int = -1) -> bytes: ...


class Backend(ABC):
    url: str = ""

    @abstractmethod
    def put_file(self, key: str, path: str, *, on_bytes: Optional[BytesCallback] = None) -> None:
        """Store the file at ``path`` under ``key``; the object appears whole or not at all."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes, *, if_absent: bool = False) -> bool:
        """Store ``data``. With ``if_absent``, do nothing and return False if ``key`` exists
        (a conditional write on S3, ``O_EXCL``-style link on a directory)."""

    @abstractmethod
    def get_file(self, key: str, dest: str, *, on_bytes: Optional[BytesCallback] = None) -> None:
        """Write the object to ``dest`` atomically (temp file + rename)."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """The whole object; raises :class:`~cloudsubmit.errors.StoreError` if absent."""

    @abstractmethod
    def size(self, key: str) -> Optional[int]:
        """The object's size, or None when it does not exist."""

    @abstractmethod
    def list(self, prefix: str) -> Iterator[Tuple[str, int]]:
        """``(key, size)`` for every object whose key starts with ``prefix``, in key order.
        One request per thousand keys on S3."""

    def list_hex(self, prefix: str, threads: int = 8) -> Iterator[Tuple[str, int]]:
        """:meth:`list` of the keys under ``prefix`` whose next character is a hex digit (blob
        names). A store with a request per page overrides this to list the 16 hex sub-prefixes at
        once, so a listing costs the store's size divided by ``threads`` in wall time."""
        return ((k, s) for k, s in self.list(prefix) if k[len(prefix):len(prefix) + 1] in _HEX)

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object if present."""

    def delete_many(self, keys: Iterable[str]) -> None:
        """Remove every key (absent ones are fine). S3 batches a thousand per request."""
        for key in keys:
            self.delete(key)

    def put_fileobj(self, key: str, fileobj: "Readable", *, size: Optional[int] = None,
                    on_bytes: Optional[BytesCallback] = None) -> None:
        """Store everything read from ``fileobj`` (until it returns ``b""``). If a read raises,
        nothing is stored and the exception propagates: a reader that hashes what it hands out can
        refuse content that is not what the caller hashed before (see ``store.upload``).
        ``size`` is a hint. Backends override this to stream; the default reads into memory."""
        data = fileobj.read()
        self.put_bytes(key, data)
        if on_bytes:
            on_bytes(len(data))

    def read_range(self, key: str, offset: int, length: int) -> ContextManager["Readable"]:
        """A reader of ``length`` bytes of the object from ``offset`` (one ranged GET on S3), for
        a node that needs a few files of a pack. It may hand out fewer bytes if the object is
        shorter: the caller checks what it got. The default reads the whole object."""
        return contextlib.nullcontext(io.BytesIO(self.get_bytes(key)[offset:offset + length]))

    def modified(self, key: str) -> Optional[float]:
        """When the object was written (seconds since the epoch), None when absent or unknown."""
        return None

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def leftovers(self, older_than: float) -> List[Tuple[str, int]]:
        """``(name, bytes)`` of what killed writers left behind and nothing reads, started more
        than ``older_than`` seconds ago (so a live upload is never touched): temp files of a
        directory store, incomplete multipart uploads on S3."""
        return []

    def remove_leftover(self, name: str) -> None:
        """Remove one item :meth:`leftovers` named."""
