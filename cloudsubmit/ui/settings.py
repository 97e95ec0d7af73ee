"""What the panel remembers per user between sessions (last chunk size, stage placement, ...).

A small JSON file in the user's config folder, never the scene: a scene travels to the farm and to
colleagues, a preference should not. Unknown or mistyped values are dropped, not fatal: a broken
preferences file must never stop an artist from submitting."""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, Optional

STAGES = ("upload", "render", "download", "post")
PLACES = ("local", "cloud")
DEFAULT_PLACEMENT = {"upload": "local", "render": "cloud", "download": "local", "post": "local"}
FILE_NAME = "panel.json"


@dataclass
class PanelSettings:
    chunk_size: int = 10
    placement: Dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PLACEMENT))
    scout: bool = True
    priority: int = 0

    @classmethod
    def from_dict(cls, data: Any) -> "PanelSettings":
        out = cls()
        if not isinstance(data, dict):
            return out
        for f in fields(cls):
            value = data.get(f.name)
            default = getattr(out, f.name)
            if isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
            else:
                ok = isinstance(value, type(default))
            if ok:
                setattr(out, f.name, value)
        out.chunk_size = max(1, out.chunk_size)
        out.placement = {s: out.placement.get(s) if out.placement.get(s) in PLACES else DEFAULT_PLACEMENT[s]
                         for s in STAGES}
        return out


def settings_path() -> Path:
    from ..config import user_config_dir

    return user_config_dir() / FILE_NAME


def load_settings(path: Optional[Path] = None) -> PanelSettings:
    path = path or settings_path()
    try:
        return PanelSettings.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return PanelSettings()


def save_settings(settings: PanelSettings, path: Optional[Path] = None) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves half a file."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".panel-", suffix=".json", dir=str(path.parent))
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(settings), out, indent=2, sort_keys=True)
    os.replace(tmp, path)
    return path
