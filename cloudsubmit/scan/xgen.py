"""XGen collection (``.xgen``) reader: what an xgmPalette's file brings besides itself.

An ``.xgen`` file is text in modules: a type line (``Palette``, ``Description``,
``SplinePrimitive``, an FX module...) and then one ``attribute<whitespace>value`` line each,
modules separated by blank lines. The Palette's ``xgDataPath`` names the collection's data
folders (``${PROJECT}xgen/collections/<name>``, ``;``-separated), where the descriptions keep
their paint maps, region maps and ptex files, so each folder is listed whole; ``${PROJECT}`` is the
Palette's ``xgProjectPath``. A value naming an Alembic file (a spline or patch cache) is listed
too, and the patch Alembic Maya writes beside the ``.xgen`` when it exists."""
from __future__ import annotations

import os
import re
from typing import Dict, List

from .model import RawRef, ReadContext, ReadResult
from .text_files import read_text

_CACHE_RE = re.compile(r"\S+\.abc$", re.I)


def modules(text: str) -> List[Dict[str, str]]:
    """The file's modules as {"": type, attribute: raw value}, in file order."""
    out: List[Dict[str, str]] = []
    current: Dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            if current:
                out.append(current)
            current = {}
            continue
        if line.startswith("#") or line.startswith("FileVersion"):
            continue
        if not current:
            current = {"": line}
            continue
        parts = line.split(None, 1)
        current[parts[0]] = parts[1].strip() if len(parts) > 1 else ""
    if current:
        out.append(current)
    return out


def read(path: str, ctx: ReadContext) -> ReadResult:
    text = read_text(path, "XGen file")
    name = os.path.basename(path)
    result = ReadResult()
    parsed = modules(text)
    palette = next((m for m in parsed if m.get("") == "Palette"), {})
    project = palette.get("xgProjectPath", "")
    for folder in filter(None, (p.strip() for p in palette.get("xgDataPath", "").split(";"))):
        result.refs.append(RawRef(value=folder.replace("${PROJECT}", project), source=f"{name}:Palette.xgDataPath",
                                  kind="xgen", folder=True))
    for module in parsed:
        for attr, value in module.items():
            if attr and _CACHE_RE.fullmatch(value.split()[-1] if value.split() else ""):
                result.refs.append(RawRef(value=value.split()[-1].replace("${PROJECT}", project),
                                          source=f"{name}:{module['']}.{attr}", kind="cache"))
    patch = os.path.splitext(path)[0] + ".abc"
    result.refs.append(RawRef(value=patch, source=f"{name}:patches", kind="cache", optional=True))
    return result
