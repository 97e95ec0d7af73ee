"""One place for every setting.

Layers, lowest first: packaged defaults (``cloudsubmit/defaults/*.yaml``, one file per top-level
section) < studio file (``CLOUDSUBMIT_CONFIG`` or ``--config FILE``) < user file
(``CLOUDSUBMIT_USER_CONFIG`` or ``<user config dir>/cloudsubmit/config.yaml``) < command-line
overrides (dotted keys such as ``store.url``).

The packaged defaults double as the schema: a key that is not in the defaults is unknown, and a
value must have the type of its default. A mapping default that contains ``__open__: true`` accepts
any keys (roots, renderer templates); a ``null`` default accepts any value. Errors name the file and
the dotted key, so a TD can fix a studio file without reading Python."""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Optional

from .errors import ConfigError
from .userdirs import user_config_dir

OPEN = "__open__"
_DEFAULTS_DIR = Path(__file__).with_name("defaults")


def _read_yaml(path: Path) -> Dict[str, Any]:
    import yaml  # local: keeps `import cloudsubmit` light inside a DCC

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} invalid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must be a mapping of sections, not {type(data).__name__}")
    return data


def packaged_defaults() -> Dict[str, Any]:
    """Every ``defaults/<section>.yaml`` as ``{section: mapping}``."""
    out: Dict[str, Any] = {}
    for f in sorted(_DEFAULTS_DIR.glob("*.yaml")):
        out[f.stem] = _read_yaml(f)
    return out


def _type_name(v: Any) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "mapping"}.get(
        type(v), type(v).__name__
    )


def _check_type(default: Any, value: Any, key: str, origin: str) -> Any:
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f"{origin}: {key}: expected {_type_name(default)}, got {_type_name(value)} {value!r}")
    return value


def merge(base: Dict[str, Any], layer: Mapping[str, Any], origin: str, prefix: str = "") -> None:
    """Merge ``layer`` into ``base`` in place, validating keys and types against ``base``."""
    is_open = bool(base.get(OPEN))
    for key, value in layer.items():
        dotted = f"{prefix}{key}"
        if not isinstance(key, str):
            raise ConfigError(f"{origin}: {dotted}: keys must be strings")
        if key not in base:
            if not is_open:
                raise ConfigError(f"{origin}: unknown key {dotted}")
            base[key] = copy.deepcopy(value)
            continue
        default = base[key]
        if isinstance(default, dict) and isinstance(value, dict):
            merge(default, value, origin, dotted + ".")
        else:
            base[key] = _check_type(default, copy.deepcopy(value), dotted, origin)


def _strip_open(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _strip_open(v) for k, v in d.items() if k != OPEN}
    return d


def parse_override(item: str) -> tuple:
    """``"jobs.chunk=10"`` -> ``("jobs.chunk", 10)``; the value is read as YAML so types work."""
    import yaml

    if "=" not in item:
        raise ConfigError(f"--set {item}: expected KEY=VALUE")
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def _nest(dotted: Mapping[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key, value in dotted.items():
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


class Config:
    """Resolved settings. ``cfg["store"]["url"]`` or ``cfg.get("store.url")``."""

    def __init__(self, data: Dict[str, Any], sources: Iterable[str]) -> None:
        self.data = data
        self.sources = list(sources)

    @classmethod
    def defaults(cls) -> "Config":
        """The packaged defaults alone (no studio, user or command-line layer): what a library
        caller that passes no config gets, so no function needs a "config may be None" branch."""
        return cls(_strip_open(packaged_defaults()), ["defaults"])

    def __getitem__(self, section: str) -> Any:
        return self.data[section]

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def snapshot(self) -> Dict[str, Any]:
        """A plain copy for writing into a job bundle (nothing credential-like lives in config)."""
        return copy.deepcopy(self.data)


def load_config(
    studio_file: Optional[str] = None,
    user_file: Optional[str] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    env: Optional[Mapping[str, str]] = None,
) -> Config:
    """Build the layered config. ``env`` defaults to ``os.environ`` (tests pass their own)."""
    env = os.environ if env is None else env
    data = packaged_defaults()
    sources = ["defaults"]
    studio = studio_file or env.get("CLOUDSUBMIT_CONFIG")
    if studio:
        merge(data, _read_yaml(Path(studio)), str(studio))
        sources.append(str(studio))
    user = user_file or env.get("CLOUDSUBMIT_USER_CONFIG")
    user_path = Path(user) if user else user_config_dir() / "config.yaml"
    if user_path.is_file():
        merge(data, _read_yaml(user_path), str(user_path))
        sources.append(str(user_path))
    if overrides:
        merge(data, _nest(overrides), "command line")
        sources.append("command line")
    return Config(_strip_open(data), sources)
