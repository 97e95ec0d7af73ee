"""The store's per-user folders (embedded default store: data; hash and shard caches: cache).
They are defined once in :mod:`cloudsubmit.userdirs`, beside the config and job-registry folders;
this module keeps the store's imports short."""
from __future__ import annotations

from ..userdirs import user_cache_dir, user_data_dir

__all__ = ["user_cache_dir", "user_data_dir"]
