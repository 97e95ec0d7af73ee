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
from typing import TYPE_CHECKING, Any, Dict, Optional

from ..errors import CloudSubmitError
from ..vocabulary import default_placement, place_choices

if TYPE_CHECKING:
    from ..config import Config

FILE_NAME = "panel.json"


@dataclass
class PanelSettings:
    chunk_size: int = 10
    placement: Dict[str, str] = field(default_factory=default_placement)
    scout: bool = True
    priority: int = 0
    scheduler: str = "htcondor"

    @classmethod
    def from_dict(cls, data: Any, defaults: Optional["PanelSettings"] = None) -> "PanelSettings":
        """``data`` over ``defaults``; a stage the studio config no longer has is forgotten."""
        base = defaults or cls()
        out = cls(base.chunk_size, dict(base.placement), base.scout, base.priority, base.scheduler)
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
            if ok and f.name != "placement":
                setattr(out, f.name, value)
        out.chunk_size = max(1, out.chunk_size)
        if out.scheduler not in ("htcondor", "local"):
            out.scheduler = base.scheduler
        placement = data.get("placement")
        saved: Dict[str, Any] = placement if isinstance(placement, dict) else {}
        out.placement = {s: saved[s] if saved.get(s) in place_choices(s) else where for s, where in base.placement.items()}
        return out


def config_defaults(config: Optional[Config] = None) -> PanelSettings:
    """The studio's defaults (``jobs.chunk``, ``jobs.scout``, ``jobs.place``, ``jobs.post``), before
    the user's own choices are laid over them."""
    out = PanelSettings()
    if config is None:
        return out
    out.chunk_size = max(1, int(config.get("jobs.chunk", out.chunk_size) or out.chunk_size))
    out.scout = bool(config.get("jobs.scout", out.scout))
    out.scheduler = str(config.get("jobs.scheduler") or out.scheduler)
    placement = default_placement()
    placement.update({k: v for k, v in (config.get("jobs.place") or {}).items() if v in place_choices(k)})
    for post in config.get("jobs.post") or []:
        if isinstance(post, dict) and post.get("name"):
            placement[str(post["name"])] = post.get("place", "local") if post.get("place") in place_choices("post") else "local"
    out.placement = placement
    return out


def settings_path() -> Path:
    from ..userdirs import user_config_dir

    return user_config_dir() / FILE_NAME


def load_settings(path: Optional[Path] = None, defaults: Optional[PanelSettings] = None) -> PanelSettings:
    path = path or settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    return PanelSettings.from_dict(data, defaults)


def save_settings(settings: PanelSettings, path: Optional[Path] = None) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves half a file."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".panel-", suffix=".json", dir=str(path.parent))
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(settings), out, indent=2, sort_keys=True)
    os.replace(tmp, path)
    return path


SCENES_FILE = "panel-scenes.json"
MAX_SCENES = 200  # the memory is of recent work, not a catalogue of every scene ever opened


def scenes_path() -> Path:
    from ..userdirs import user_config_dir

    return user_config_dir() / SCENES_FILE


def load_scene_memory(scene: str, path: Optional[Path] = None) -> Dict[str, Any]:
    """The settings last submitted (or exported) for ``scene``, in the keys of a preset plus
    ``layers``/``cameras``/``preset``/``own_ranges``; {} for a new scene or an unreadable file (a memory, never
    a reason not to open the panel)."""
    from ..presets import check_preset

    path = path or scenes_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8")).get(scene)
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(data, dict):
        return {}
    extra = {k: data.pop(k) for k in ("layers", "cameras", "preset", "own_ranges") if k in data}
    try:
        out = check_preset(data, str(path))
    except CloudSubmitError:
        return {}
    for key in ("layers", "cameras"):
        if isinstance(extra.get(key), list) and all(isinstance(v, str) for v in extra[key]):
            out[key] = extra[key]
    if isinstance(extra.get("preset"), str):
        out["preset"] = extra["preset"]
    if isinstance(extra.get("own_ranges"), bool):
        out["own_ranges"] = extra["own_ranges"]
    return out


def remember_scene(scene: str, settings: Dict[str, Any], path: Optional[Path] = None) -> Path:
    """Keep ``settings`` for ``scene`` (most recent last, at most ``MAX_SCENES``), atomically."""
    path = path or scenes_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    data.pop(scene, None)
    data[scene] = settings
    kept = dict(list(data.items())[-MAX_SCENES:])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".panel-scenes-", suffix=".json", dir=str(path.parent))
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(kept, out, indent=1)
    os.replace(tmp, path)
    return path
