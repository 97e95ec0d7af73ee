"""The team store: content-addressed blobs plus the team index, on S3 or a directory.

``open_store(url, config)`` gives a :class:`Store`; :func:`resolve` says what a set of files needs
(in the store already, to upload, missing) and :func:`upload` sends the difference and records it
in one new index shard. This face only re-exports; see ``docs/architecture.md`` for the modules."""
from __future__ import annotations

from .backend import Backend
from .hashcache import HashCache
from .index import IndexEntry, TeamIndex
from .local import LocalBackend
from .opener import ENV_STORE, Store, open_store, store_url
from .reports import UploadReport
from .resolve import FileState, Resolution, resolve
from .upload import UploadRefused, upload

__all__ = [
    "Backend", "ENV_STORE", "FileState", "HashCache", "IndexEntry", "LocalBackend", "Resolution", "Store",
    "TeamIndex", "UploadRefused", "UploadReport", "open_store", "resolve", "store_url", "upload",
]
