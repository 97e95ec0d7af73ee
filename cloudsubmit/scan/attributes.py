"""The Maya (node type, attribute) table, from ``attributes.yaml`` plus the studio's
``scan.extra_maya_attributes``. Shared by the ASCII and binary readers."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..errors import ConfigError

_TABLE = Path(__file__).with_name("attributes.yaml")

# Short names of the helper attributes a row refers to by long name (frames, frame_value,
# frame_offset, tiling). Maya writes short names in .ma/.mb files; a plug-in attribute whose
# short name equals its long name needs no entry.
AUX_SHORT_NAMES = {
    "useFrameExtension": "ufe",
    "frameExtension": "fe",
    "frameOffset": "fo",
    "uvTilingMode": "uvt",
    "cacheName": "cn",
}


@dataclass(frozen=True)
class AttrRule:
    node_type: str
    attr: str
    short: str
    kind: str
    frames: str = ""
    frame_value: str = ""
    frame_offset: str = ""
    tiling: str = ""
    follow: bool = False
    output: bool = False
    name_attr: str = ""     # the value is a folder; this attribute names the file in it (cacheFile)
    suffix: str = ""        # appended to the value (cacheFile's cacheName + ".xml")

    def names(self) -> tuple:
        return (self.attr, self.short)

    def aux_attrs(self) -> List[str]:
        """Long names of the helper attributes this row reads besides the path itself."""
        return [a for a in (self.frames, self.frame_value, self.frame_offset, self.tiling, self.name_attr) if a]


def name_map(rules: List[AttrRule]) -> Dict[str, str]:
    """Every name (long or short) a node type's rows read -> the long name."""
    out: Dict[str, str] = {}
    for rule in rules:
        out[rule.attr] = rule.attr
        out[rule.short] = rule.attr
        for aux in rule.aux_attrs():
            out[aux] = aux
            out[AUX_SHORT_NAMES.get(aux, aux)] = aux
    return out


def _rule(node_type: str, row: Dict[str, Any], origin: str) -> AttrRule:
    try:
        attr = str(row["attr"])
    except (KeyError, TypeError):
        raise ConfigError(f"{origin}: {node_type}: each row needs 'attr'") from None
    known = {"attr", "short", "kind", "frames", "frame_value", "frame_offset", "tiling", "follow", "output", "node_type",
             "name_attr", "suffix"}
    unknown = set(row) - known
    if unknown:
        raise ConfigError(f"{origin}: {node_type}: unknown field {sorted(unknown)[0]}")
    return AttrRule(
        node_type=node_type, attr=attr, short=str(row.get("short") or attr), kind=str(row.get("kind") or "file"),
        frames=str(row.get("frames") or ""), frame_value=str(row.get("frame_value") or ""),
        frame_offset=str(row.get("frame_offset") or ""), tiling=str(row.get("tiling") or ""),
        follow=bool(row.get("follow")), output=bool(row.get("output")),
        name_attr=str(row.get("name_attr") or ""), suffix=str(row.get("suffix") or ""),
    )


@lru_cache(maxsize=1)
def _packaged() -> Dict[str, tuple]:
    """The shipped rows, parsed once per process (a scan reads one table per referenced file)."""
    import yaml

    data = yaml.safe_load(_TABLE.read_text(encoding="utf-8")) or {}
    return {node_type: tuple(_rule(node_type, r, str(_TABLE)) for r in rows) for node_type, rows in data.items()}


def load_table(config: Optional[Any] = None) -> Dict[str, List[AttrRule]]:
    """``{node_type: [AttrRule, ...]}``: packaged rows plus the config's extra rows."""
    table = {node_type: list(rules) for node_type, rules in _packaged().items()}
    extra = config.get("scan.extra_maya_attributes", []) if config is not None else []
    for row in extra or []:
        if not isinstance(row, dict) or "node_type" not in row:
            raise ConfigError("config: scan.extra_maya_attributes: each row needs node_type and attr")
        table.setdefault(str(row["node_type"]), []).append(_rule(str(row["node_type"]), row, "scan.extra_maya_attributes"))
    return table
