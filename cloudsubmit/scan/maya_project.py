"""The Maya project a scene belongs to: its root (the folder holding ``workspace.mel``) and the
file rules in it, so relative texture and reference paths resolve the way Maya resolves them."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ..paths import normpath

WORKSPACE_FILE = "workspace.mel"
# How far up from the scene we look for workspace.mel (scenes/seq/shot/ is deep enough).
MAX_LEVELS = 6

# Which file rules serve which kind of dependency. Data: a new kind needs one line here.
KIND_RULES: Dict[str, Sequence[str]] = {
    "texture": ("sourceImages",),
    "image": ("sourceImages", "images"),
    "reference": ("scene", "mayaAscii", "mayaBinary"),
    "cache": ("alembicCache", "fileCache", "diskCache", "Alembic"),
    "audio": ("sound", "audio"),
    "standin": ("ASS", "ASS Export"),
    "usd": ("USD Import", "USD Export"),
    "ies": ("sourceImages",),
    "volume": ("sourceImages",),
    "proxy": ("sourceImages",),
}
DEFAULT_RULES = {"sourceImages": "sourceimages", "images": "images", "scene": "scenes", "sound": "sound"}

_RULE_RE = re.compile(r'workspace\s+-(?:fr|fileRule)\s+"((?:[^"\\]|\\.)*)"\s+"((?:[^"\\]|\\.)*)"\s*;')


@dataclass
class MayaProject:
    root: str                                   # absolute, forward slashes
    rules: Dict[str, str] = field(default_factory=dict)

    def rule_dirs(self, kind: str) -> List[str]:
        """Absolute folders of the file rules for ``kind`` (rule paths may be absolute)."""
        out = []
        for rule in KIND_RULES.get(kind, ()):
            rel = self.rules.get(rule)
            if rel:
                out.append(normpath(rel, self.root))
        return list(dict.fromkeys(out))

    @property
    def images_dir(self) -> str:
        return normpath(self.rules.get("images") or "images", self.root)


def parse_workspace(text: str) -> Dict[str, str]:
    """File rules of a ``workspace.mel`` (``workspace -fr "sourceImages" "sourceimages";``)."""
    rules = dict(DEFAULT_RULES)
    for name, value in _RULE_RE.findall(text):
        rules[name] = value.replace('\\"', '"').replace("\\\\", "\\")
    return rules


def load_project(root: str) -> MayaProject:
    """The project at ``root``; without a ``workspace.mel`` Maya's default rules apply."""
    ws = Path(root) / WORKSPACE_FILE
    try:
        text = ws.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    return MayaProject(root=normpath(root), rules=parse_workspace(text))


def find_project(scene: str, given: Optional[str] = None) -> Optional[MayaProject]:
    """The project the user named, else the nearest folder above the scene with a
    ``workspace.mel`` (how a farm node knows the project without Maya's preferences)."""
    if given:
        return load_project(given)
    folder = Path(scene).resolve().parent
    for _ in range(MAX_LEVELS):
        if (folder / WORKSPACE_FILE).is_file():
            return load_project(str(folder))
        if folder.parent == folder:
            break
        folder = folder.parent
    return None
