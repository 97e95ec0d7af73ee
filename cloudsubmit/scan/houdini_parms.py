"""The Houdini parameter table: which parameters are input files, which are outputs, from
``houdini_parms.yaml`` plus the studio's ``scan.extra_houdini_parms``.

Lookup is by exact name first and by glob second, with node-type-specific rows ahead of generic
ones, so a scene with tens of thousands of parameters is classified with dictionary lookups."""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Pattern, Tuple

from ..errors import ConfigError

_TABLE = Path(__file__).with_name("houdini_parms.yaml")
_FIELDS = {"parm", "kind", "node_types", "exclude_types", "follow", "enabled_by", "output", "component"}
_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class ParmRule:
    parm: str
    kind: str
    output: bool = False
    follow: bool = False
    node_types: FrozenSet[str] = frozenset()
    exclude_types: FrozenSet[str] = frozenset()
    enabled_by: str = ""
    component: Optional[int] = None     # only this component holds the path (others are options)

    def applies(self, node_type: str, base_type: str) -> bool:
        if self.node_types and node_type not in self.node_types and base_type not in self.node_types:
            return False
        return node_type not in self.exclude_types and base_type not in self.exclude_types


_OFF = frozenset(("", "0", "off", "null", "none", "false"))
_INDEX = re.compile(r"[0-9]+$")


def rule_enabled(rule: ParmRule, parm: str, value_of: Callable[[str], Optional[str]]) -> bool:
    """Whether ``rule.enabled_by`` holds for ``parm``: that parameter is on (not off/0/null/none/
    empty); ``!name`` when it is off; a ``#`` in the name is ``parm``'s multiparm index
    (``vm_usefile_plane#`` for ``vm_filename_plane3``). ``value_of`` gives a parameter's value on
    the same node, or None when the node has no such parameter (the offline reader and the live
    Houdini session each read values their own way)."""
    toggle = rule.enabled_by
    if not toggle:
        return True
    negate = toggle.startswith("!")
    toggle = toggle.lstrip("!")
    if "#" in toggle:
        index = _INDEX.search(parm)
        toggle = toggle.replace("#", index.group(0) if index else "")
    value = value_of(toggle)
    on = value is not None and value.strip().lower() not in _OFF
    return on != negate


_SHIFT = 0x7F      # Houdini moves each character a parameter name cannot hold up by this much


def decode_parm_name(name: str) -> str:
    """The name a parameter stands for: Houdini encodes names that are not valid parameter names
    (USD attributes on LOPs) as ``xn__`` + punycode of the name with each such character shifted
    up by 0x7F, so ``inputs:texture:file`` is ``xn__inputstexturefile_r3ah``. Other names, and
    anything that does not decode, are returned unchanged."""
    if not name.startswith("xn__"):
        return name
    basic, sep, code = name[4:].rpartition("_")
    if not sep or not code:
        return name
    try:
        decoded = (basic + "-" + code).encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        return name
    return "".join(chr(ord(c) - _SHIFT) if 0x20 <= ord(c) - _SHIFT < 0x7F else c for c in decoded)


def base_type(node_type: str) -> str:
    """``labs::filecache::2.0`` -> ``filecache``; ``Sop/file`` -> ``file``."""
    name = node_type.rsplit("/", 1)[-1]
    parts = name.split("::")
    if len(parts) > 1 and re.match(r"^[0-9.]+$", parts[-1]):
        parts = parts[:-1]
    return parts[-1]


def _rule(row: Any, output: bool, origin: str) -> ParmRule:
    if not isinstance(row, dict) or "parm" not in row:
        raise ConfigError(f"{origin}: each row needs 'parm' (got {row!r})")
    unknown = set(row) - _FIELDS
    if unknown:
        raise ConfigError(f"{origin}: {row['parm']}: unknown field {sorted(unknown)[0]}")
    return ParmRule(
        parm=str(row["parm"]), kind=str(row.get("kind") or "file"), output=bool(row.get("output", output)),
        follow=bool(row.get("follow")), node_types=frozenset(str(t) for t in row.get("node_types") or ()),
        exclude_types=frozenset(str(t) for t in row.get("exclude_types") or ()),
        enabled_by=str(row.get("enabled_by") or ""), component=_component(row, origin),
    )


def _component(row: Dict[str, Any], origin: str) -> Optional[int]:
    value = row.get("component")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{origin}: {row['parm']}: component must be a component index (0, 1, ...), got {value!r}")
    return value


class ParmTable:
    """Classifies (node type, parameter name) pairs; also carries the table's other lists."""

    def __init__(self, rules: List[ParmRule], data: Dict[str, Any]) -> None:
        # specific rows first, outputs before inputs, in file order otherwise
        ordered = sorted(enumerate(rules), key=lambda ir: (not ir[1].node_types, not ir[1].output, ir[0]))
        self.patterns = sorted({r.parm for r in rules})
        self.exact: Dict[str, List[ParmRule]] = {}
        self.globs: List[tuple] = []
        for _, r in ordered:
            if _GLOB.search(r.parm):
                self.globs.append((re.compile(fnmatch.translate(r.parm)), r))
            else:
                self.exact.setdefault(r.parm, []).append(r)
        self.ignore_values = frozenset(str(v) for v in data.get("ignore_values") or ())
        self.ignore_prefixes = tuple(str(v) for v in data.get("ignore_prefixes") or ())
        self.builtin: List[Pattern[str]] = [re.compile(p, re.I) for p in data.get("builtin_libraries") or ()]
        self.install_dirs: Tuple[str, ...] = ()
        self.rop_types = frozenset(data.get("rop_types") or ())
        self.camera_types = frozenset(data.get("camera_types") or ())
        self.renderers: Dict[str, str] = dict(data.get("renderers") or {})
        self._cache: Dict[tuple, List[ParmRule]] = {}

    def match(self, node_type: str, parm: str) -> Optional[ParmRule]:
        """The first rule for the pair, whatever its ``enabled_by`` says."""
        rules = self.matches(node_type, parm)
        return rules[0] if rules else None

    def matches(self, node_type: str, parm: str) -> List[ParmRule]:
        """Every rule for the pair, best first: the reader takes the first whose ``enabled_by``
        holds (a File Cache's ``file`` is read when it loads from disk, written when it does not)."""
        key = (node_type, parm)
        if key not in self._cache:
            base = base_type(node_type)
            candidates: List[ParmRule] = []
            for name in dict.fromkeys((parm, decode_parm_name(parm))):   # LOPs: by USD attribute name too
                candidates += self.exact.get(name, ())
                candidates += [r for rx, r in self.globs if rx.match(name)]
            candidates.sort(key=lambda r: (not r.node_types, not r.output))
            self._cache[key] = [r for r in candidates if r.applies(node_type, base)]
        return self._cache[key]

    def is_builtin_library(self, path: str) -> bool:
        """Part of the Houdini install: any of the table's install-folder forms (long, Windows 8.3
        short, macOS framework, Linux hfs) or under ``$HFS`` of the environment."""
        p = path.replace("\\", "/")
        low = p.lower()
        if any(low.startswith(d) for d in self.install_dirs):
            return True
        return any(rx.search(p) for rx in self.builtin)

    def with_install(self, env: Mapping[str, str]) -> "ParmTable":
        """This table also knowing the install folder ``$HFS`` names in ``env`` (when set)."""
        hfs = (env.get("HFS") or "").replace("\\", "/").rstrip("/").lower()
        self.install_dirs = (hfs + "/",) if hfs else ()
        return self


def load_table(config: Optional[Any] = None) -> ParmTable:
    import yaml

    data = yaml.safe_load(_TABLE.read_text(encoding="utf-8")) or {}
    rules = [_rule(r, False, f"{_TABLE}: inputs") for r in data.get("inputs") or ()]
    rules += [_rule(r, True, f"{_TABLE}: outputs") for r in data.get("outputs") or ()]
    extra = config.get("scan.extra_houdini_parms", []) if config is not None else []
    rules += [_rule(r, False, "config: scan.extra_houdini_parms") for r in extra or ()]
    return ParmTable(rules, data)
