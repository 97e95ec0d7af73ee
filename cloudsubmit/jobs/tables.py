"""The packaged data tables (renderer templates, pool profiles) merged with the studio's config,
and the one function that turns a template into argv."""
from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Tuple

from ..errors import ConfigError
from ..paths import scene_extension

if TYPE_CHECKING:
    from ..config import Config

_HERE = Path(__file__).parent
_TOKEN_RE = re.compile(r"\{(\w+)\}")


@functools.lru_cache(maxsize=None)
def _packaged(name: str) -> Dict[str, Any]:
    import yaml

    with open(_HERE / name, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def _merged(name: str, overrides: Mapping[str, Any]) -> Dict[str, Any]:
    table = copy.deepcopy(_packaged(name))
    for key, value in (overrides or {}).items():
        if isinstance(value, Mapping) and isinstance(table.get(key), dict):
            _deep_update(table[key], value)
        else:
            table[key] = copy.deepcopy(value)
    return table


def _deep_update(base: Dict[str, Any], layer: Mapping[str, Any]) -> None:
    for k, v in layer.items():
        if isinstance(v, Mapping) and isinstance(base.get(k), dict):
            _deep_update(base[k], v)
        else:
            base[k] = copy.deepcopy(v)


def renderers(config: Config) -> Dict[str, Any]:
    return _merged("renderers.yaml", config["jobs"]["renderers"])


def renderer_for(scene: str, kind: str, config: Config) -> Tuple[str, Dict[str, Any]]:
    """``(kind, spec)``: the named kind, or the first whose extensions match the scene."""
    table = renderers(config)
    if kind:
        if kind not in table:
            raise ConfigError(f"jobs.renderer: unknown renderer kind {kind!r} (known: {', '.join(sorted(table))})")
        spec = dict(table[kind])
        if kind == "generic":
            spec["command"] = list(config["jobs"]["generic_command"]) or spec.get("command") or []
        if not spec.get("command"):
            raise ConfigError(f"renderer {kind!r} has no command (set jobs.generic_command or "
                              f"jobs.renderers.{kind}.command)")
        return kind, spec
    ext = scene_extension(scene)
    for name, spec in table.items():
        if ext in [e.lower() for e in spec.get("extensions") or []]:
            return name, dict(spec)
    raise ConfigError(f"{scene}: no renderer for {ext or 'files without extension'}; "
                      "choose one with --renderer or jobs.renderer")


def pool_profile(config: Config, place: str) -> Dict[str, Any]:
    """The placement settings (requirements, attributes, resources) of ``place`` in the pool."""
    name = config["jobs"]["pool"]
    table = _merged("pools.yaml", config["jobs"]["pools"])
    if name not in table:
        raise ConfigError(f"jobs.pool: unknown pool profile {name!r} (known: {', '.join(sorted(table))})")
    profile = table[name].get(place)
    if not isinstance(profile, Mapping):
        raise ConfigError(f"jobs.pools.{name}.{place}: missing (a profile needs local and cloud)")
    return dict(profile)


STAGE_TOKENS = frozenset({"scene", "scene_dir", "scene_name", "start", "end", "step", "count", "frames",
                          "frame_list", "frame", "output_dir", "output", "node", "job_id", "python"})


def required_tokens(template: List[Any]) -> List[str]:
    """Tokens a template needs from the user (outside optional groups, not filled per chunk)."""
    found: List[str] = []
    for item in template:
        if not isinstance(item, list):
            found.extend(t for t in _TOKEN_RE.findall(str(item)) if t not in STAGE_TOKENS and t not in found)
    return found


def expand_command(template: List[Any], tokens: Mapping[str, str], what: str) -> List[str]:
    """argv from a template: ``{token}`` replaced inside each item; a nested list is an optional
    group dropped when any token in it is empty. Unknown tokens are a config error, not a
    silently broken command line."""
    out: List[str] = []
    for item in template:
        if isinstance(item, list):
            parts = [_fill(str(x), tokens, what) for x in item]
            if all(p for p in parts):
                out.extend(parts)
        else:
            out.append(_fill(str(item), tokens, what))
    return out


def _fill(text: str, tokens: Mapping[str, str], what: str) -> str:
    def sub(m: "re.Match[str]") -> str:
        if m.group(1) not in tokens:
            raise ConfigError(f"{what}: unknown token {{{m.group(1)}}} in {text!r}")
        return str(tokens[m.group(1)])

    return _TOKEN_RE.sub(sub, text)
