"""The Maya (node type, attribute) table, from ``attributes.yaml`` plus the studio's
``scan.extra_maya_attributes``. Shared by the ASCII and binary readers."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Sequence, Set, Union

from ..errors import ConfigError
from .model import RawRef

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

# Maya's uvTilingMode enum -> the RawRef.tiling names expand.apply_tiling understands. One table
# for every Maya reader, so a .ma and a .mb of the same scene list the same tiles.
# 1 ZBrush (u0_v0) and 2 Mudbox (u1_v1) are both the u<U>_v<V> pattern on disk; 3 is Mari UDIM.
# 4 "explicit" names each tile in explicitUvTiles[].explicitUvTileName, which no reader reads yet:
# the base tile's UDIM siblings are listed instead, because a tile missed fails a render while
# a tile listed too many only costs upload.
TILING_MODES: Dict[int, str] = {0: "", 1: "zbrush", 2: "mudbox", 3: "udim", 4: "udim"}

_TRUE = ("yes", "on", "true")

Scalar = Union[str, float, int, None]


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
    folder: bool = False    # the value names folders; every file under them is needed
    optional: bool = False  # listed only when it exists (caches a render reads in "from file" modes only)
    split: bool = False     # the value is a search-path list (";" or ":" between entries)

    def names(self) -> tuple:
        return (self.attr, self.short)

    def aux_attrs(self) -> List[str]:
        """Long names of the helper attributes this row reads besides the path itself."""
        return [a for a in (self.frames, self.frame_value, self.frame_offset, self.tiling, self.name_attr) if a]


def number(value: Scalar) -> Optional[float]:
    """A .ma setAttr word or a .mb double as a float; None when it is not a number."""
    if value is None or isinstance(value, (int, float)):
        return None if value is None else float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def flag(value: Scalar) -> bool:
    """A boolean attribute as either reader holds it (``yes``/``true``/``1`` in a .ma, 1.0 in a .mb)."""
    if isinstance(value, str) and value.strip().lower() in _TRUE:
        return True
    return bool(number(value))


def rule_refs(node_name: str, node_type: str, rule: AttrRule, values: Sequence[str],
              get: Optional[Callable[[str], Scalar]] = None) -> List[RawRef]:
    """The RawRefs one table row gives on one node: the one place the row's fields (frames,
    frame_value, frame_offset, tiling, name_attr, suffix) are interpreted, for every Maya reader.

    ``values``: the row attribute's string(s) (a stringArray gives several); ``get(long_name)``:
    the node's value of a helper attribute, or None when the file does not set it. A reader whose
    node has its frame attribute connected (keyed, an expression) returns None for it, so every
    frame of the range is listed rather than the one frame saved in the file. ``get`` None means
    the node sets none of them (most texture nodes of a big scene): the same answer, no lookups."""
    if get is None:
        if rule.name_attr:
            return []
        sequence, frame_value, offset, tiling, file_name = False, None, None, "", ""
    else:
        sequence = bool(rule.frames) and flag(get(rule.frames))
        frame_value = number(get(rule.frame_value)) if sequence and rule.frame_value else None
        offset = number(get(rule.frame_offset)) if rule.frame_offset else None
        tiling = TILING_MODES.get(int(number(get(rule.tiling)) or 0), "") if rule.tiling else ""
        file_name = str(get(rule.name_attr) or "") if rule.name_attr else ""
        if rule.name_attr and not file_name:
            return []  # a cache folder without its cache name names no file yet
    out = []
    if rule.split:
        values = [part for value in values if isinstance(value, str) for part in split_path_list(value)]
    source, suffix, frame_offset = f"{node_name}.{rule.attr}", rule.suffix, int(offset or 0)
    for value in values:
        if not isinstance(value, str) or not value.strip():
            continue
        if rule.name_attr:
            value = value.rstrip("/\\") + "/" + file_name
        # Positional: a dataclass call with keywords costs twice as much, and a big scene makes 10^5.
        out.append(RawRef(value + suffix, source, rule.kind, node_type, "", sequence, frame_offset, frame_value,
                          tiling, rule.output, rule.follow, False, rule.optional, rule.folder))
    return out


@lru_cache(maxsize=None)
def helper_names(rule: AttrRule) -> FrozenSet[str]:
    """Names (long and short) of the helper attributes that change what :func:`rule_refs` gives
    for this row. A node that sets none of them gets the answer of ``get=None``: the frame value
    counts only when the frames switch is on, so it is not one of them."""
    return frozenset(n for a in (rule.frames, rule.frame_offset, rule.tiling, rule.name_attr) if a
                     for n in (a, AUX_SHORT_NAMES.get(a, a)))


def split_path_list(text: str) -> List[str]:
    """A search-path list as Yeti writes ``imageSearchPath`` (like a PATH variable): ``;``
    separates entries, and so does ``:`` except after a drive letter (``C:/tex;D:/tex``,
    ``/show/tex:/lib/tex``)."""
    out: List[str] = []
    for part in text.split(";"):
        pieces = part.split(":")
        current = pieces[0]
        for piece in pieces[1:]:
            if len(current.strip()) == 1 and current.strip().isalpha() and piece[:1] in ("/", "\\"):
                current = current + ":" + piece      # a drive letter, not a separator
            else:
                out.append(current)
                current = piece
        out.append(current)
    return [p.strip() for p in out if p.strip()]


def frame_value_names(table: Dict[str, List[AttrRule]]) -> Set[str]:
    """Every name (long and short) of a frame attribute a row reads: the connections a reader must
    notice, because a driven frame extension means every frame, not the one saved."""
    return {n for rules in table.values() for r in rules if r.frame_value
            for n in (r.frame_value, AUX_SHORT_NAMES.get(r.frame_value, r.frame_value))}


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
             "name_attr", "suffix", "folder", "optional", "split"}
    unknown = set(row) - known
    if unknown:
        raise ConfigError(f"{origin}: {node_type}: unknown field {sorted(unknown)[0]}")
    return AttrRule(
        node_type=node_type, attr=attr, short=str(row.get("short") or attr), kind=str(row.get("kind") or "file"),
        frames=str(row.get("frames") or ""), frame_value=str(row.get("frame_value") or ""),
        frame_offset=str(row.get("frame_offset") or ""), tiling=str(row.get("tiling") or ""),
        follow=bool(row.get("follow")), output=bool(row.get("output")),
        name_attr=str(row.get("name_attr") or ""), suffix=str(row.get("suffix") or ""),
        folder=bool(row.get("folder")), optional=bool(row.get("optional")), split=bool(row.get("split")),
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
