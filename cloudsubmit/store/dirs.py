"""Per-user folders for what cloudsubmit keeps on one machine: the embedded default store (data)
and the caches that make a re-submit cheap (hash cache, index shard cache). Caches can be deleted
at any time; the store cannot, so they live apart."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def user_cache_dir() -> Path:
    """``%LOCALAPPDATA%\\cloudsubmit\\cache``, ``~/Library/Caches/cloudsubmit`` or
    ``$XDG_CACHE_HOME/cloudsubmit`` (``~/.cache``)."""
    if sys.platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "cloudsubmit" / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "cloudsubmit"
    return Path(os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")) / "cloudsubmit"


def user_data_dir() -> Path:
    """Where the embedded default store lives when no store URL is configured."""
    if sys.platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "cloudsubmit"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "cloudsubmit"
    return Path(os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")) / "cloudsubmit"
