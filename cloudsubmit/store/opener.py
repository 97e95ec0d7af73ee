"""Opening the team store: :func:`open_store` turns a URL (``file:///dir``, ``s3://bucket/prefix``
or nothing: the embedded default directory) into a :class:`Store`, the backend plus the
per-machine caches that belong with it. Nothing here imports boto3 until an ``s3://`` store is used."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional

from ..config import Config
from ..errors import EXIT_BAD_INPUT, StoreError
from .backend import Backend
from .dirs import user_cache_dir, user_data_dir
from .hashcache import HashCache
from .index import TeamIndex
from .local import LocalBackend

ENV_STORE = "CLOUDSUBMIT_STORE"


class Store:
    """One opened store: ``backend`` (the objects), ``index`` (the merged team index, read on
    first use) and the per-machine caches that belong with it."""

    def __init__(self, backend: Backend, config: Optional[Config] = None) -> None:
        self.backend = backend
        self.config = config if config is not None else Config.defaults()
        self.url = backend.url
        self._index: Optional[TeamIndex] = None
        self._hash_cache: Optional[HashCache] = None

    @property
    def cache_dir(self) -> Path:
        hc = self.config.get("store.hash_cache", "")
        return Path(hc).parent if hc else user_cache_dir()

    @property
    def index(self) -> TeamIndex:
        if self._index is None:
            self._index = TeamIndex(self.backend, self.cache_dir / "index-shards")
        return self._index

    @property
    def hash_cache(self) -> HashCache:
        if self._hash_cache is None:
            hc = self.config.get("store.hash_cache", "")
            self._hash_cache = HashCache(hc or str(self.cache_dir / "hashes.sqlite"))
        return self._hash_cache

    @property
    def threads(self) -> int:
        return max(1, int(self.config.get("store.transfer.threads", 8)))

    def close(self) -> None:
        if self._hash_cache is not None:
            self._hash_cache.close()
        close = getattr(self.backend, "close", None)
        if close:
            close()


def store_url(url: Optional[str] = None, config: Optional[Config] = None,
              env: Optional[Mapping[str, str]] = None) -> str:
    """The store to use: the explicit URL, else ``$CLOUDSUBMIT_STORE``, else ``store.url`` from
    config, else "" (the embedded default directory)."""
    env = os.environ if env is None else env
    cfg = config if config is not None else Config.defaults()
    return url or env.get(ENV_STORE, "") or cfg.get("store.url", "") or ""


def _file_path(url: str) -> str:
    path = url[len("file://"):] if url.startswith("file://") else url
    if len(path) > 3 and path[0] == "/" and path[2] == ":":  # file:///C:/store
        path = path[1:]
    return path


def open_store(url: Optional[str] = None, config: Optional[Config] = None) -> Store:
    """Open (never create) the store at ``url``; only the embedded default directory is created.
    A URL that names nothing is bad input (exit 2), reported in one line. Without ``config``,
    the packaged defaults."""
    config = config if config is not None else Config.defaults()
    url = store_url(url, config)
    if not url:
        return Store(LocalBackend(str(user_data_dir() / "store"), create=True), config)
    if url.startswith("s3://"):
        from .s3 import S3Backend

        return Store(S3Backend(url, config.get("store.s3", {}), int(config.get("store.transfer.threads", 8))), config)
    if "://" in url and not url.startswith("file://"):
        raise StoreError(f"store {url}: unknown scheme (use s3://bucket/prefix or file:///dir)", exit_code=EXIT_BAD_INPUT)
    return Store(LocalBackend(os.path.abspath(_file_path(url)), create=False), config)
