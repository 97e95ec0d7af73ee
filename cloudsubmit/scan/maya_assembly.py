"""Scene assembly representations: the files an ``assemblyDefinition`` names in its
``representations[i]`` compound (a Maya scene to read, a gpuCache Alembic file), from the values
either Maya reader collected. Each reader stores a compound child under the name Maya writes for
it, ``rep[1].rda`` (a ``.ma`` setAttr ``".rep[1].rda"``, a ``.mb`` leaf named ``rep[1].rda``), so
both formats give the same answer. The representation types are data (``maya_assembly.yaml``).

Every representation that names a file is listed, not just the active one: which representation
renders can be switched per assembly, and a file listed too many only costs upload, while one
missed fails the render."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .model import RawRef

_TABLE = Path(__file__).with_name("maya_assembly.yaml")
_TYPE, _DATA = "rty", "rda"       # repType, repData (devkit sceneAssembly assemblyDefinition.cpp)
_ITEM_RE = re.compile(r"\[([0-9]+)\]\.([A-Za-z][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class RepKind:
    kind: str
    follow: bool = False


@dataclass(frozen=True)
class _Table:
    compounds: Dict[str, str]                    # node type -> the compound's short name ("rep")
    kinds: Dict[str, Optional[RepKind]]          # repType -> what repData names (None: no file)


@lru_cache(maxsize=1)
def _table() -> _Table:
    import yaml

    data = yaml.safe_load(_TABLE.read_text(encoding="utf-8")) or {}
    kinds = {str(name): (RepKind(str(row["kind"]), bool(row.get("follow"))) if row else None)
             for name, row in (data.get("representations") or {}).items()}
    return _Table({str(t): str(c) for t, c in (data.get("node_types") or {}).items()}, kinds)


def compound_names() -> Dict[str, str]:
    """Node type -> the short name of its representations compound: what a reader must collect
    (every ``<name>[i].<child>`` of it) for :func:`representation_refs`."""
    return dict(_table().compounds)


def representation_refs(node_name: str, node_type: str, values: Mapping[str, Any]) -> Tuple[List[RawRef], List[str]]:
    """The RawRefs of one node's representations, and a warning per representation whose type
    the table does not know (its data is not guessed to be a file). ``values``: the node's
    collected values by name as stored (``rep[1].rda`` -> text)."""
    table = _table()
    compound = table.compounds.get(node_type)
    if compound is None:
        return [], []
    reps: Dict[int, Dict[str, str]] = {}
    prefix = compound + "["
    for key, value in values.items():
        if not key.startswith(prefix) or not isinstance(value, str):
            continue
        m = _ITEM_RE.match(key, len(compound))
        if m is not None:
            reps.setdefault(int(m.group(1)), {})[m.group(2)] = value
    refs: List[RawRef] = []
    warnings: List[str] = []
    for index in sorted(reps):
        data, rep_type = reps[index].get(_DATA, "").strip(), reps[index].get(_TYPE, "")
        if not data:
            continue
        source = f"{node_name}.representations[{index}].repData"
        if rep_type not in table.kinds:
            warnings.append(f"{source}: representation type {rep_type or '(none)'!r} is unknown to the scan; "
                            f"{data!r} was not listed")
            continue
        how = table.kinds[rep_type]
        if how is not None:
            refs.append(RawRef(value=data, source=source, kind=how.kind, node_type=node_type, follow=how.follow))
    return refs, warnings
