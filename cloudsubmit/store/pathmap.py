"""Path mapping: the ``(original root, node root)`` rules that say where a submitter's path is on a
render node, and the one function that applies them. The render stage writes them out as Maya
dirmap, ``HOUDINI_PATHMAP`` or ``ARNOLD_PATHMAP``; outputs and snapshots use them to find the
declared output folders on the node."""
from __future__ import annotations

import os
from typing import List, Mapping, Sequence, Tuple

from ..paths import normpath

Rule = Tuple[str, str]


def session_rules(roots: Mapping[str, str], session: str) -> List[Rule]:
    """``(original root, session root)`` per root, longest first so nested roots map correctly."""
    rules = []
    for name, original in roots.items():
        src = normpath(original)
        dst = normpath(os.path.join(session, name))
        if src.endswith("/") and not dst.endswith("/"):
            dst += "/"
        rules.append((src, dst))
    return sorted(rules, key=lambda r: (-len(r[0]), r[0]))


def map_path(path: str, rules: Sequence[Rule]) -> str:
    """Apply the first rule whose source is a prefix of ``path`` at a folder boundary (drive and
    UNC paths compare case-insensitively, as Windows does)."""
    p = normpath(path)
    for src, dst in rules:
        fold = (lambda s: s.lower()) if (src[1:2] == ":" or src.startswith("//")) else (lambda s: s)
        if fold(p) == fold(src.rstrip("/")) or fold(p).startswith(fold(src.rstrip("/") + "/")):
            rest = p[len(src.rstrip("/")):].lstrip("/")
            return dst.rstrip("/") + ("/" + rest if rest else "")
    return p
