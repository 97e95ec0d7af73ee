"""Blob I/O with verification, both ways: every byte a blob is made of is checked against its name.

Down: :func:`fetch_verified` downloads through a temp name, checks size and hash, then renames, so
a reader never sees a partial or corrupt file. Up: :func:`put_verified` sends a file through a
:class:`VerifyingReader` that refuses, before the last byte, content that is not what was hashed,
so the store never holds a blob that is not exactly its name. Everything else in ``store/`` that
moves blob bytes calls these."""
from __future__ import annotations

import contextlib
import os
import uuid

from ..errors import StoreError
from ..storekeys import blob_key
from .backend import Backend, BytesCallback, Readable
from .hashing import hash_file

_SMALL_BLOB = 8 * 1024 * 1024  # fetched in one request
_BLOCK = 1024 * 1024  # read from a pack's range GET at a time


class FileChanged(Exception):
    """The file's size, mtime or content differs from what was recorded for it a moment ago."""


def fetch_blob(backend: Backend, digest: str, size: int, dest: str, on_bytes: BytesCallback) -> None:
    """Download a blob to ``dest`` (a temp name the caller renames). Small blobs come in one GET
    (a streamed S3 download costs a HEAD first, which doubles the requests of a texture set);
    large ones stream through the backend, multipart on S3."""
    if size > _SMALL_BLOB:
        backend.get_file(blob_key(digest), dest, on_bytes=on_bytes)
        return
    data = backend.get_bytes(blob_key(digest))
    on_bytes(len(data))  # may raise Cancelled: nothing written yet
    with open(dest, "wb") as out:
        out.write(data)


def fetch_verified(backend: Backend, digest: str, size: int, dest: str, mtime_ns: int, on_bytes: BytesCallback,
                   *, what: str = "", read_only: bool = False) -> None:
    """Download a blob to ``dest`` through a temp name next to it, check it hashes to its name,
    give it the entry's mtime (keeps e.g. a .tx newer than its .exr, lets an unchanged re-download
    be skipped by stat), then rename: a reader never sees a partial or corrupt file at ``dest``,
    and an interrupted download leaves no ``.tmp-`` file behind. ``what`` adds to error lines."""
    tmp = _temp_beside(dest)
    try:
        fetch_blob(backend, digest, size, tmp, on_bytes)
        verify_blob(tmp, digest, size, f"{backend.url}/{blob_key(digest)}{what}")
        _settle(tmp, dest, mtime_ns, read_only)
    finally:
        _remove(tmp)


def receive_verified(stream: Readable, digest: str, size: int, dest: str, mtime_ns: int, on_bytes: BytesCallback,
                     label: str, *, read_only: bool = False) -> None:
    """Write the next ``size`` bytes of ``stream`` (a pack's range GET) to ``dest`` the way
    :func:`fetch_verified` writes a blob: through a temp name, hashed as they arrive, renamed
    only when they are exactly ``size`` bytes hashing to ``digest``. ``label`` names where the
    bytes came from in the error line."""
    import xxhash

    tmp, h, left = _temp_beside(dest), xxhash.xxh3_128(), size
    try:
        with open(tmp, "wb") as out:
            while left:
                block = stream.read(min(left, _BLOCK))
                if not block:
                    raise StoreError(f"{label}: corrupt pack, it ends {left} bytes early")
                on_bytes(len(block))  # may raise Cancelled: the temp file goes
                h.update(block)
                out.write(block)
                left -= len(block)
        if h.hexdigest() != digest:
            raise StoreError(f"{label}: corrupt pack, these bytes hash to {h.hexdigest()}, not {digest}")
        _settle(tmp, dest, mtime_ns, read_only)
    except BaseException:
        _remove(tmp)  # only then: after the rename there is nothing to remove (thousands of files)
        raise


def _temp_beside(dest: str) -> str:
    folder = os.path.dirname(dest)
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f".tmp-{os.path.basename(dest)}-{uuid.uuid4().hex[:8]}")


def _settle(tmp: str, dest: str, mtime_ns: int, read_only: bool) -> None:
    """Give a verified temp file the entry's mtime (keeps e.g. a .tx newer than its .exr, lets an
    unchanged re-download be skipped by stat), then rename it into place."""
    with contextlib.suppress(OSError):  # some network filesystems refuse it
        os.utime(tmp, ns=(mtime_ns, mtime_ns))
    if read_only:
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o444)
    os.replace(tmp, dest)


def verify_blob(path: str, digest: str, size: int, label: str) -> None:
    """Refuse content that is not what its name says (a corrupt or tampered blob)."""
    got_size = os.path.getsize(path)
    if got_size != size:
        raise StoreError(f"{label}: corrupt blob, {got_size} bytes instead of {size}")
    got = hash_file(path)
    if got != digest:
        raise StoreError(f"{label}: corrupt blob, content hashes to {got}")


class VerifyingReader:
    """Reads one file for upload, hashing as it goes; raises :class:`FileChanged` before handing
    out the last byte if the content or the file's size/mtime is not what was hashed before.
    Handed to :meth:`Backend.put_fileobj`, which then stores nothing: inputs and render outputs
    alike, a blob is always exactly its name."""

    def __init__(self, path: str, size: int, mtime_ns: int, digest: str, on_bytes: BytesCallback) -> None:
        import xxhash

        self.path, self.size, self.mtime_ns, self.digest, self.on_bytes = path, size, mtime_ns, digest, on_bytes
        try:
            self.f = open(path, "rb")
        except OSError as exc:  # the source, not the store: the file is refused, the upload goes on
            raise FileChanged(f"cannot read ({exc.strerror or exc})") from None
        try:
            self._check_stat()
        except FileChanged:
            self.f.close()
            raise
        self.h = xxhash.xxh3_128()
        self.n = 0
        self.reported = 0  # bytes passed to on_bytes: a backend that reads the body twice counts it once

    def _check_stat(self) -> None:
        st = os.fstat(self.f.fileno())
        if (st.st_size, st.st_mtime_ns) != (self.size, self.mtime_ns):
            raise FileChanged("changed since it was hashed")

    def __len__(self) -> int:
        """Bytes left to read: lets an HTTP client send the body in blocks with its length known."""
        return self.size - self.n

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.n

    def seek(self, offset: int, whence: int = 0) -> int:
        """Only a rewind to the start (a client reading the body again for its checksum, its
        signature or a retry): every pass is verified again from the first byte."""
        if (offset, whence) != (0, 0):
            raise OSError(f"{self.path}: the upload reader can only rewind to the start")
        self.f.seek(0)
        self.h.reset()
        self.n = 0
        return 0

    def read(self, amount: int = -1) -> bytes:
        try:
            data = self.f.read(amount if amount and amount > 0 else -1)
        except OSError as exc:
            raise FileChanged(f"cannot read ({exc.strerror or exc})") from None
        self.n += len(data)
        if self.n > self.reported:
            self.on_bytes(self.n - self.reported)  # raises Cancelled when asked to stop
            self.reported = self.n
        self.h.update(data)
        if self.n > self.size or (not data and self.n < self.size):
            raise FileChanged("changed while being uploaded")
        if data and self.n == self.size:
            if self.f.read(1) or self.h.hexdigest() != self.digest:
                raise FileChanged("changed while being uploaded")
            self._check_stat()
        return data

    def close(self) -> None:
        self.f.close()


def put_verified(backend: Backend, key: str, path: str, size: int, mtime_ns: int, digest: str,
                 on_bytes: BytesCallback) -> None:
    """Store the file at ``path`` under ``key`` only if it is still exactly what was hashed as
    ``digest`` (size, mtime and content); otherwise raise :class:`FileChanged`, storing nothing."""
    reader = VerifyingReader(path, size, mtime_ns, digest, on_bytes)
    try:
        backend.put_fileobj(key, reader, size=size)
    finally:
        reader.close()


def put_unchanged(backend: Backend, key: str, path: str, size: int, mtime_ns: int, digest: str,
                  on_bytes: BytesCallback) -> None:
    """Send the file through the upload's verifying reader: a frame a renderer is still writing
    (other size, mtime or bytes than it was hashed with) is refused by hash before its last byte
    is handed over, so the store never holds it, same as an artist's input file."""
    try:
        put_verified(backend, key, path, size, mtime_ns, digest, on_bytes)
    except FileChanged as exc:
        raise StoreError(f"{path}: {exc} (is it still being written?)") from None


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
