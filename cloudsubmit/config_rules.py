"""What a setting's value may be beyond its type: the table in ``defaults/_rules.yaml`` (choices,
ranges, the shape of free-form entries such as pools, renderers and path mappings), applied by one
function to every layer of the config as it is loaded and to command-line flags that stand for a
setting (``--place render=gpu`` is checked as ``jobs.place.render``).

Messages name the origin (a file, "command line", "--place") and the dotted key, and never echo a
value of the wrong type (it may be a secret pasted under the wrong key); a value outside a short
list of choices is shown, so the typo can be seen."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence, Tuple

from .errors import ConfigError

_RULES_FILE = Path(__file__).with_name("defaults") / "_rules.yaml"
MAX_VALUES = 100_000  # a config file is hand-written: more values than this is a YAML alias bomb
_TYPES = {"boolean": (bool,), "integer": (int,), "number": (int, float), "string": (str,), "list": (list,),
          "mapping": (dict,)}


def type_name(value: Any) -> str:
    """The YAML word for a value's type, as the messages and the rules table use it."""
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "mapping",
            type(None): "null"}.get(type(value), type(value).__name__)


@functools.lru_cache(maxsize=None)
def _rules() -> Tuple[Tuple[Tuple[str, ...], Dict[str, Any]], ...]:
    import yaml

    table = yaml.safe_load(_RULES_FILE.read_text(encoding="utf-8")) or {}
    return tuple((tuple(str(k).split(".")), dict(v or {})) for k, v in table.items())


def alternatives(values: Sequence[Any]) -> str:
    """``[a, b, c]`` -> ``"a, b or c"``."""
    words = [str(v) for v in values]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def rules_for(dotted: str) -> List[Dict[str, Any]]:
    """Every rule whose key matches ``dotted`` (``*`` matches one part), most specific first."""
    parts = tuple(dotted.split("."))
    found = [(pat.count("*"), rule) for pat, rule in _rules()
             if len(pat) == len(parts) and all(p == "*" or p == q for p, q in zip(pat, parts))]
    return [rule for _n, rule in sorted(found, key=lambda x: x[0])]


def choices(dotted: str) -> List[Any]:
    """The values ``dotted`` may take (the most specific rule's), [] when it is not a choice:
    the panel offers exactly these."""
    for rule in rules_for(dotted):
        if "choices" in rule:
            return list(rule["choices"])
    return []


def check_rules(dotted: str, value: Any, origin: str, where: str = "") -> None:
    """Apply the rules of ``dotted`` and of every key below it (a mapping is walked) to ``value``;
    raise :class:`ConfigError` naming ``origin`` and the first bad key, as ``where`` when the
    value sits elsewhere than the setting whose rules it follows (a preset's ``chunk``)."""
    where = where or dotted
    rules = rules_for(dotted)
    for rule in rules:
        _check_one(rule, value, where, origin)
    if isinstance(value, dict) and not any("keys" in r for r in rules):
        for key, child in value.items():
            if key != "__open__":
                check_rules(f"{dotted}.{key}", child, origin, f"{where}.{key}")


def check_setting(dotted: str, value: Any, origin: str) -> Any:
    """A flag that stands for a setting goes through the same rules; returns ``value``."""
    check_rules(dotted, value, origin)
    return value


def _check_one(rule: Mapping[str, Any], value: Any, where: str, origin: str) -> None:
    why = f" ({rule['why']})" if rule.get("why") else ""
    want = rule.get("type")
    if want and not _is_type(value, want):
        raise setting_error(origin, where, f"expected {want}, got {type_name(value)}{why}")
    if "choices" in rule and value not in rule["choices"]:
        shown = repr(value) if isinstance(value, (str, int, float, bool)) and len(str(value)) <= 40 else type_name(value)
        raise setting_error(origin, where, f"expected {alternatives(rule['choices'])}, got {shown}{why}")
    if ("min" in rule or "max" in rule) and _is_type(value, "number"):
        if "min" in rule and value < rule["min"]:
            raise setting_error(origin, where, f"must be at least {rule['min']}, got {value}{why}")
        if "max" in rule and value > rule["max"]:
            raise setting_error(origin, where, f"must be at most {rule['max']}, got {value}{why}")
    if "items" in rule and isinstance(value, list):
        for i, item in enumerate(value):
            _check_one(rule["items"], item, f"{where}[{i}]", origin)
    if isinstance(value, dict):
        _check_mapping(rule, value, where, origin)


def _check_mapping(rule: Mapping[str, Any], value: Mapping[str, Any], where: str, origin: str) -> None:
    for key in rule.get("required") or ():
        if key not in value:
            raise setting_error(origin, where, f"missing {key}")
    keys = rule.get("keys")
    if keys is None:
        return
    for key, child in value.items():
        if key not in keys:
            raise setting_error(origin, where, f"unknown key {key!r} (known: {', '.join(keys)})")
        _check_one(keys[key] or {}, child, f"{where}.{key}", origin)


def setting_error(origin: str, where: str, text: str) -> ConfigError:
    """``<origin>: <dotted key>: <text>`` with the key (and the file, for a file layer) attached
    for ``--json``."""
    is_file = origin not in ("command line", "defaults") and not origin.startswith("-")
    return ConfigError(f"{origin}: {where}: {text}", key=where, file=origin if is_file else None)


def _is_type(value: Any, want: str) -> bool:
    if want not in _TYPES:
        raise ConfigError(f"{_RULES_FILE}: unknown type {want!r}")
    if isinstance(value, bool) and want != "boolean":
        return False
    return isinstance(value, _TYPES[want])


def check_tree_size(data: Any, origin: str, limit: int = MAX_VALUES) -> None:
    """Refuse a document that expands to more than ``limit`` values. YAML aliases make a few lines
    stand for billions of values (an "alias bomb"); counting stops at the limit, so the check
    itself stays cheap."""
    stack: List[Any] = [data]
    seen = 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > limit:
            raise ConfigError(f"{origin}: expands to more than {limit} values (YAML aliases nested too deep?); "
                              "a config file is never that big", file=origin)
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)


def check_all(data: Mapping[str, Any], origin: str, sections: Sequence[str] = ()) -> None:
    """Check a whole config tree (every section, or ``sections``) against the rules."""
    for section in sections or list(data):
        check_rules(section, data[section], origin)
