"""Named submit presets: "the settings we always use for a lighting preview", chosen by name in the
panel and with ``submit --preset NAME``.

Two places hold them. A show ships its presets in the studio config (``jobs.presets: {NAME:
{...}}``), so every artist on the show gets the same ones; an artist saves their own from the panel
("Save as preset...") as one YAML file each in ``<user config dir>/presets/NAME.yaml``. A user's
preset with the name of a show's preset replaces it for that user.

A preset holds only what makes sense for any scene of the show: frames, chunk, placement, scout,
priority, renderer, renderer options, post stages and the scheduler; never a layer or a camera
(those belong to one scene, see ``ui.settings.SceneMemory``). Each key is checked with the same
rules as the setting it stands for (``chunk`` as ``jobs.chunk``, ``place`` as ``jobs.place``...),
so a bad file gives one line naming the file and the key."""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from .errors import ConfigError, FrameSpecError

if TYPE_CHECKING:
    from .config import Config

# preset key -> the setting whose type and rules it follows ("" = its own rule below)
PRESET_KEYS = {
    "frames": "", "chunk": "jobs.chunk", "place": "jobs.place", "scout": "jobs.scout", "priority": "",
    "renderer": "jobs.renderer", "render_options": "jobs.render_options", "post": "jobs.post",
    "scheduler": "jobs.scheduler",
}
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
FOLDER = "presets"
STUDIO, USER = "studio", "user"


@dataclass
class Preset:
    name: str
    settings: Dict[str, Any]
    origin: str  # the file it came from
    scope: str = USER  # studio | user

    def summary(self) -> str:
        """"frames 1-100x5, chunk 5, render on cloud, priority 10": what the list shows."""
        s = self.settings
        parts = [f"frames {s['frames']}"] if s.get("frames") else []
        parts += [f"{key} {s[key]}" for key in ("chunk", "priority", "renderer", "scheduler") if key in s]
        parts += [f"{stage} on {where}" for stage, where in sorted((s.get("place") or {}).items())]
        if "scout" in s:
            parts.append("scout" if s["scout"] else "no scout")
        parts += [f"{k}={v}" for k, v in sorted((s.get("render_options") or {}).items())]
        parts += [f"post {p.get('name')}" for p in s.get("post") or []]
        return ", ".join(parts) or "(no settings)"

    def to_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "scope": self.scope, "origin": self.origin, "settings": dict(self.settings)}


@dataclass
class PresetTable:
    """Every preset by name, and the files that could not be used (one error each)."""

    presets: Dict[str, Preset] = field(default_factory=dict)
    problems: Dict[str, ConfigError] = field(default_factory=dict)  # preset name -> why it is unusable

    def names(self) -> List[str]:
        return sorted(self.presets)

    def find(self, name: str) -> Preset:
        """The preset ``name``; its own error when its file is bad, else "no preset named"."""
        if name in self.problems:
            raise self.problems[name]
        if name not in self.presets:
            known = ", ".join(self.names()) or "none yet: save one from the panel, or ship them in jobs.presets"
            raise ConfigError(f"no preset named {name!r} (presets: {known})", exit_code=2)
        return self.presets[name]


def check_name(name: str) -> str:
    """A preset name is also a file name: letters, digits, ``_ . -``, at most 64 characters."""
    if not NAME_RE.fullmatch(name or "") or ".." in name:
        raise ConfigError(f"preset name {name!r}: use letters, digits, '_', '.' or '-' (at most 64, "
                          "starting with a letter or digit)", exit_code=2)
    return name


def _jobs_defaults() -> Dict[str, Any]:
    from .config import packaged_defaults

    return packaged_defaults()["jobs"]


def check_preset(data: Any, origin: str, prefix: str = "") -> Dict[str, Any]:
    """``data`` as a preset's settings, or :class:`ConfigError` "<origin>: <prefix><key>: ...".
    ``prefix`` is where the preset sits in its file (``jobs.presets.NAME.`` in a studio config)."""
    import difflib

    from .config_rules import check_rules, setting_error, type_name
    from .frames import parse_frames

    if not isinstance(data, dict):
        raise setting_error(origin, prefix.rstrip(".") or "(top)", f"a preset is a mapping, not {type_name(data)}")
    defaults = _jobs_defaults()
    out: Dict[str, Any] = {}
    for key, value in data.items():
        where = f"{prefix}{key}"
        if key not in PRESET_KEYS:
            close = difflib.get_close_matches(str(key), list(PRESET_KEYS), n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else f" (known: {', '.join(PRESET_KEYS)})"
            raise ConfigError(f"{origin}: unknown key {where}{hint}", key=where, file=origin, exit_code=2)
        setting = PRESET_KEYS[key]
        want = defaults[setting.split(".", 1)[1]] if setting else ("" if key == "frames" else 0)
        if isinstance(want, dict):
            want = {}
        if type_name(value) != type_name(want):  # the value is not echoed: it may be a pasted secret
            raise setting_error(origin, where, f"expected {type_name(want)}, got {type_name(value)}")
        if setting:
            check_rules(setting, value, origin, where=where)
        if key == "render_options":
            for token, text in value.items():
                if not isinstance(text, str):
                    raise setting_error(origin, f"{where}.{token}", f"expected string, got {type_name(text)}")
        if key == "place":
            for stage, place in value.items():
                check_rules(f"jobs.place.{stage}", place, origin, where=f"{where}.{stage}")
        if key == "frames":
            try:
                parse_frames(value)
            except FrameSpecError as exc:
                raise setting_error(origin, where, exc.message) from None
        out[key] = value
    return out


def user_presets_dir() -> Path:
    from .userdirs import user_config_dir

    return user_config_dir() / FOLDER


def load_presets(config: Optional["Config"] = None, folder: Optional[Path] = None) -> PresetTable:
    """The show's presets (``jobs.presets``), then the user's files over them."""
    from .config import read_yaml

    table = PresetTable()
    studio = (config.get("jobs.presets") if config is not None else None) or {}
    for name, data in studio.items():
        origin = config.origin(f"jobs.presets.{name}") if config is not None else "config"
        _add(table, str(name), lambda: check_preset(data, origin, f"jobs.presets.{name}."), origin, STUDIO)
    root = folder or user_presets_dir()
    for path in sorted(root.glob("*.yaml")) if root.is_dir() else []:
        _add(table, path.stem, lambda: check_preset(read_yaml(path, "preset"), str(path)), str(path), USER)
    return table


def _add(table: PresetTable, name: str, read: Any, origin: str, scope: str) -> None:
    try:
        settings = read()
    except ConfigError as exc:
        exc.exit_code = 2
        table.problems[name] = exc
        table.presets.pop(name, None)
        return
    table.problems.pop(name, None)
    table.presets[name] = Preset(name, settings, origin, scope)


def save_preset(name: str, settings: Dict[str, Any], folder: Optional[Path] = None) -> Path:
    """Write ``<folder>/<name>.yaml`` atomically (temp file + rename), after the same checks a
    read does, so what is saved always loads again."""
    import yaml

    check_name(name)
    root = folder or user_presets_dir()
    path = root / f"{name}.yaml"
    clean = check_preset(dict(settings), str(path))
    root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".preset-", suffix=".yaml", dir=str(root))
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(f"# cloudsubmit preset {name!r} (saved from the panel; see docs/artist-workflow.md)\n")
        yaml.safe_dump(clean, out, default_flow_style=False, sort_keys=True)
    os.replace(tmp, path)
    return path
