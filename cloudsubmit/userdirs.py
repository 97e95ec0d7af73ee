"""Per-user folders, in one place: settings (config), what must be kept (the embedded default
store, the job registry: data) and what may be deleted at any time (hash cache, index shard cache,
blob cache: cache). Data and caches live apart so clearing a cache never loses a store or the list
of submitted jobs. Each follows the platform's convention so a studio's clean-up scripts and
roaming profiles treat it as they treat every other tool's folder."""
from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "cloudsubmit"


def _local_appdata() -> Path:
    return Path(os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local"))


def user_config_dir() -> Path:
    """``%APPDATA%\\cloudsubmit``, ``~/Library/Preferences/cloudsubmit`` or
    ``$XDG_CONFIG_HOME/cloudsubmit`` (``~/.config``): settings roam with the user on Windows."""
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Preferences"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config"))
    return base / APP


def user_data_dir() -> Path:
    """``%LOCALAPPDATA%\\cloudsubmit``, ``~/Library/Application Support/cloudsubmit`` or
    ``$XDG_DATA_HOME/cloudsubmit`` (``~/.local/share``): the embedded store and the job registry."""
    if sys.platform.startswith("win"):
        base = _local_appdata()
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share"))
    return base / APP


def user_cache_dir() -> Path:
    """``%LOCALAPPDATA%\\cloudsubmit\\cache``, ``~/Library/Caches/cloudsubmit`` or
    ``$XDG_CACHE_HOME/cloudsubmit`` (``~/.cache``); on Windows a sub-folder, because local app
    data is also where the data folder lives."""
    if sys.platform.startswith("win"):
        return _local_appdata() / APP / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP
    return Path(os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")) / APP
