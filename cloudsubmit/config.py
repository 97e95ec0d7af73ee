"""One place for every setting.

Layers, lowest first: packaged defaults (``cloudsubmit/defaults/*.yaml``, one file per top-level
section) < studio file (``CLOUDSUBMIT_CONFIG`` or ``--config FILE``) < user file
(``CLOUDSUBMIT_USER_CONFIG`` or ``<user config dir>/cloudsubmit/config.yaml``) < command-line
overrides (dotted keys such as ``store.url``).

The packaged defaults double as the schema: a key that is not in the defaults is unknown, and a
value must have the type of its default. A mapping default that contains ``__open__: true`` accepts
any keys (roots, renderer templates); a ``null`` default accepts any value. What a value may be
beyond its type (choices, ranges, the shape of free-form entries) is data too, in
``defaults/_rules.yaml`` (see :mod:`cloudsubmit.config_rules`). Every layer is checked as it is
loaded, so an error names the file and the dotted key, and a TD can fix a studio file without
reading Python. Errors never echo a value of the wrong type: it may be a secret in the wrong place."""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional

from .config_rules import check_rules, check_tree_size, setting_error, type_name
from .errors import ConfigError
from .userdirs import user_config_dir

OPEN = "__open__"
_DEFAULTS_DIR = Path(__file__).with_name("defaults")


def read_yaml(path: Path, what: str = "config") -> Dict[str, Any]:
    """A YAML mapping from ``path`` (a config file, a preset file), or one line naming the file."""
    import yaml  # local: keeps `import cloudsubmit` light inside a DCC

    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what} file ({exc.strerror or exc})", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the {what} file as UTF-8", file=str(path)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} invalid YAML ({getattr(exc, 'problem', exc)})", file=str(path)) from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a config file", file=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        kind = "a config file must be a mapping of sections" if what == "config" else f"a {what} file must be a mapping"
        raise ConfigError(f"{path}: {kind}, not {type_name(data)}", file=str(path))
    check_tree_size(data, str(path))
    return data


def packaged_defaults() -> Dict[str, Any]:
    """Every ``defaults/<section>.yaml`` as ``{section: mapping}`` (``_rules.yaml`` is not a section)."""
    out: Dict[str, Any] = {}
    for f in sorted(_DEFAULTS_DIR.glob("*.yaml")):
        if not f.name.startswith("_"):
            out[f.stem] = read_yaml(f)
    return out


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
    if not ok:  # the value itself is not echoed: a secret pasted under the wrong key stays out of logs
        raise setting_error(origin, key, f"expected {type_name(default)}, got {type_name(value)}")
    return value


def merge(base: Dict[str, Any], layer: Mapping[str, Any], origin: str, prefix: str = "",
          origins: Optional[Dict[str, str]] = None) -> None:
    """Merge ``layer`` into ``base`` in place, validating keys, types and rules against ``base``;
    ``origins`` (dotted key -> layer name) learns which layer set each value."""
    is_open = bool(base.get(OPEN))
    for key, value in layer.items():
        dotted = f"{prefix}{key}"
        if not isinstance(key, str):
            raise setting_error(origin, dotted, "keys must be strings")
        if key not in base and not is_open:
            raise _unknown_key(origin, dotted, key, base)
        default = base.get(key)
        if isinstance(default, dict) and isinstance(value, dict) and not is_open:
            merge(default, value, origin, dotted + ".", origins)
            continue
        if is_open:  # free-form entries (a pool, a root): later layers update them key by key
            value = _free_merge(default, value)
        else:
            value = _check_type(default, copy.deepcopy(value), dotted, origin)
        check_rules(dotted, value, origin)
        base[key] = value
        if origins is not None:
            origins[dotted] = origin


def _unknown_key(origin: str, dotted: str, key: str, base: Mapping[str, Any]) -> ConfigError:
    import difflib

    close = difflib.get_close_matches(key, [k for k in base if k != OPEN], n=1)
    hint = f" (did you mean {dotted[: len(dotted) - len(key)]}{close[0]}?)" if close else ""
    err = setting_error(origin, dotted, "")
    return ConfigError(f"{origin}: unknown key {dotted}{hint}", key=dotted, file=err.file)


def _free_merge(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        out = copy.deepcopy(old)
        for k, v in new.items():
            out[k] = _free_merge(out.get(k), v)
        return out
    return copy.deepcopy(new)


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

    def __init__(self, data: Dict[str, Any], sources: Iterable[str],
                 origins: Optional[Mapping[str, str]] = None) -> None:
        self.data = data
        self.sources = list(sources)
        self.origins = dict(origins or {})  # dotted key -> the layer that set it (absent: defaults)

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

    def origin(self, dotted: str) -> str:
        """The layer that set ``dotted`` (or the nearest mapping above it): a file, "command line"
        or "defaults"."""
        parts = dotted.split(".")
        for i in range(len(parts), 0, -1):
            found = self.origins.get(".".join(parts[:i]))
            if found:
                return found
        return "defaults"

    def snapshot(self) -> Dict[str, Any]:
        """A plain copy for writing into a job bundle, without any key named like a secret."""
        return without_secrets(copy.deepcopy(self.data))


_SECRET_WORDS = ("secret", "password", "passwd", "token", "credential", "accesskey", "apikey", "auth",
                 "session", "private", "signature")


def is_secret_key(key: Any) -> bool:
    """``AccessKeyId``, ``api_key``, ``aws-secret``, ``Authorization``: case, ``_`` and ``-`` aside."""
    flat = str(key).lower().replace("_", "").replace("-", "")
    return any(word in flat for word in _SECRET_WORDS)


def without_secrets(data: Any) -> Any:
    """``data`` with every mapping entry whose key names a secret dropped, at any depth."""
    if isinstance(data, dict):
        return {k: without_secrets(v) for k, v in data.items() if not is_secret_key(k)}
    if isinstance(data, list):
        return [without_secrets(v) for v in data]
    return data


def load_config(
    studio_file: Optional[str] = None,
    user_file: Optional[str] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    env: Optional[Mapping[str, str]] = None,
) -> Config:
    """Build the layered config. ``env`` defaults to ``os.environ`` (tests pass their own)."""
    env = os.environ if env is None else env
    data = packaged_defaults()
    sources, origins = ["defaults"], {}  # type: List[str], Dict[str, str]
    studio = studio_file or env.get("CLOUDSUBMIT_CONFIG")
    if studio:
        merge(data, read_yaml(Path(studio)), str(studio), origins=origins)
        sources.append(str(studio))
    user = user_file or env.get("CLOUDSUBMIT_USER_CONFIG")
    user_path = Path(user) if user else user_config_dir() / "config.yaml"
    if user_path.is_file():
        merge(data, read_yaml(user_path), str(user_path), origins=origins)
        sources.append(str(user_path))
    if overrides:
        merge(data, _nest(overrides), "command line", origins=origins)
        sources.append("command line")
    return Config(_strip_open(data), sources, origins)
