"""A plain directory (local disk or a NAS mount) as the store: the embedded default."""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Iterator, List, Optional, Tuple

from ..errors import StoreError
from .backend import Backend, BytesCallback
from .hashing import iter_blocks

_CHUNK = 8 * 1024 * 1024


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return  # Windows cannot open directories; rename is still atomic there
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _copy(src, out, on_bytes: Optional[BytesCallback]) -> None:
    for block in iter_blocks(src, _CHUNK):
        out.write(block)
        if on_bytes:
            on_bytes(len(block))


class LocalBackend(Backend):
    def __init__(self, root: str, create: bool = True) -> None:
        self.root = Path(root)
        self.url = "file://" + self.root.as_posix()
        if not self.root.is_dir():
            if not create:
                what = "is a file, not a directory" if self.root.exists() else "directory does not exist"
                raise StoreError(f"store {self.url}: {what}", exit_code=2)
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"store {self.url}: cannot create ({exc.strerror})", exit_code=2) from None

    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise StoreError(f"store {self.url}: refusing key {key!r}", exit_code=2)
        return self.root / key

    def _write_temp(self, dest: Path, fill) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=str(dest.parent))
        try:
            with os.fdopen(fd, "wb") as out:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return Path(tmp)

    def put_file(self, key: str, path: str, *, on_bytes: Optional[BytesCallback] = None) -> None:
        with open(path, "rb") as src:
            self.put_fileobj(key, src, on_bytes=on_bytes)

    def put_fileobj(self, key: str, fileobj, *, size: Optional[int] = None,
                    on_bytes: Optional[BytesCallback] = None) -> None:
        dest = self._path(key)
        tmp = self._write_temp(dest, lambda out: _copy(fileobj, out, on_bytes))
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)

    def put_bytes(self, key: str, data: bytes, *, if_absent: bool = False) -> bool:
        dest = self._path(key)
        tmp = self._write_temp(dest, lambda out: out.write(data))
        if not if_absent:
            os.replace(tmp, dest)
            _fsync_dir(dest.parent)
            return True
        try:
            os.link(tmp, dest)  # fails if dest exists: the directory's conditional write
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)
            _fsync_dir(dest.parent)

    def get_file(self, key: str, dest: str, *, on_bytes: Optional[BytesCallback] = None) -> None:
        src = self._path(key)
        if not src.is_file():
            raise StoreError(f"store {self.url}: no object {key}")
        target = Path(dest)

        def fill(out) -> None:
            with open(src, "rb") as f:
                _copy(f, out, on_bytes)

        tmp = self._write_temp(target, fill)
        os.replace(tmp, target)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"store {self.url}: no object {key}") from None

    @contextlib.contextmanager
    def read_range(self, key: str, offset: int, length: int) -> Iterator[BinaryIO]:
        try:
            f = open(self._path(key), "rb")
        except FileNotFoundError:
            raise StoreError(f"store {self.url}: no object {key}") from None
        with f:
            f.seek(offset)
            yield f

    def modified(self, key: str) -> Optional[float]:
        try:
            return self._path(key).stat().st_mtime
        except FileNotFoundError:
            return None

    def size(self, key: str) -> Optional[int]:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def list(self, prefix: str) -> Iterator[Tuple[str, int]]:
        base = self.root
        start = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        top = base / start if start else base
        if not top.is_dir():
            return iter(())
        found = []
        for dirpath, _dirs, files in os.walk(top):
            for name in files:
                if name.startswith(".tmp-"):
                    continue
                full = Path(dirpath) / name
                key = full.relative_to(base).as_posix()
                if key.startswith(prefix):
                    try:
                        found.append((key, full.stat().st_size))
                    except FileNotFoundError:
                        continue  # deleted between the walk and the stat (a concurrent compaction)
        return iter(sorted(found))

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass

    def leftovers(self, older_than: float) -> List[Tuple[str, int]]:
        """``.tmp-*`` files untouched for ``older_than`` seconds: a live writer's temp file has
        its ctime moved by every write, a killed one's stops."""
        cutoff = time.time() - older_than
        found = []
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith(".tmp-"):
                    full = Path(dirpath) / name
                    try:
                        st = full.stat()
                    except FileNotFoundError:
                        continue
                    if max(st.st_mtime, st.st_ctime) <= cutoff:
                        found.append((full.relative_to(self.root).as_posix(), st.st_size))
        return sorted(found)

    def remove_leftover(self, name: str) -> None:
        if not Path(name).name.startswith(".tmp-"):
            raise StoreError(f"store {self.url}: {name!r} is not a temp file", exit_code=2)
        try:
            self._path(name).unlink()
        except FileNotFoundError:
            pass
