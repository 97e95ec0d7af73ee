"""Helpers for the store transfer tests: a real store on disk, real files, a counting backend."""
from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path
from typing import Dict, Optional

from cloudsubmit.store.hashing import hash_file
from cloudsubmit.store.local import LocalBackend
from cloudsubmit.store.manifest import Manifest, ManifestEntry, write_inputs
from cloudsubmit.storekeys import blob_key


GETS = ("get_file", "get_bytes", "read_range")


class CountingMixin:
    """Counts calls per method and key in front of any real backend (a subclass, not a mock)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls: Counter = Counter()
        self.ranges: list = []  # (key, offset, length) of every ranged read
        self._count_lock = threading.Lock()

    def _count(self, name: str, key: str) -> None:
        with self._count_lock:
            self.calls[(name, key)] += 1

    def gets(self, prefix: str = "cas/") -> int:
        """Downloads of objects under ``prefix`` (streamed or in one request)."""
        return sum(n for (name, key), n in self.calls.items() if name in GETS and key.startswith(prefix))

    def get_bytes(self, key):
        self._count("get_bytes", key)
        return super().get_bytes(key)

    def get_file(self, key, dest, *, on_bytes=None):
        self._count("get_file", key)
        return super().get_file(key, dest, on_bytes=on_bytes)

    def read_range(self, key, offset, length):
        self._count("read_range", key)
        with self._count_lock:
            self.ranges.append((key, offset, length))
        return super().read_range(key, offset, length)

    def list(self, prefix):
        self._count("list", prefix)
        return super().list(prefix)

    def put_file(self, key, path, *, on_bytes=None):
        self._count("put_file", key)
        return super().put_file(key, path, on_bytes=on_bytes)

    def put_fileobj(self, key, fileobj, *, size=None, on_bytes=None):
        self._count("put_fileobj", key)  # every upload of both backends ends here (put_file too)
        return super().put_fileobj(key, fileobj, size=size, on_bytes=on_bytes)


class CountingBackend(CountingMixin, LocalBackend):
    pass


def counting_s3(url: str):
    """A counting S3 backend on the moto server (store-core's S3Backend, real boto3)."""
    from cloudsubmit.store.s3 import S3Backend

    return type("CountingS3", (CountingMixin, S3Backend), {})(url)


class SlowBackend(LocalBackend):
    """Moves each file in ``steps`` small sleeps so a cancel lands in the middle of a file."""

    steps = 10

    def get_file(self, key, dest, *, on_bytes=None):
        import time

        def slow(n):
            for _ in range(self.steps):
                time.sleep(0.01)
                on_bytes(n // self.steps)
        return super().get_file(key, dest, on_bytes=slow)

    def get_bytes(self, key):
        import time

        time.sleep(self.steps * 0.01)
        return super().get_bytes(key)


def write_tree(root: Path, files: Dict[str, bytes]) -> Path:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def publish_job(backend, job_id: str, roots: Dict[str, Path], rels: Dict[str, list]) -> Manifest:
    """Upload the blobs of ``rels`` ({root name: [relative paths]}) and write the job manifest,
    the way a submit does."""
    entries = []
    for name, paths in rels.items():
        for rel in paths:
            src = roots[name] / rel
            digest = hash_file(str(src))
            if not backend.exists(blob_key(digest)):
                backend.put_file(blob_key(digest), str(src))
            st = os.stat(src)
            entries.append(ManifestEntry(name, rel, digest, st.st_size, st.st_mtime_ns))
    m = Manifest(job_id=job_id, roots={n: str(p) for n, p in roots.items()}, files=entries)
    write_inputs(backend, m)
    return m


def payload(seed: int, size: int = 3000) -> bytes:
    unit = f"{seed}:".encode()
    return (unit * (size // len(unit) + 1))[:size]


def tree_bytes(root: Path, skip_prefix: Optional[str] = ".tmp-") -> Dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*")) if p.is_file() and not (skip_prefix and p.name.startswith(skip_prefix))
    }

