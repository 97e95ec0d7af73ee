"""Logical paths: where a file lives, said the same way on every machine.

A studio names its roots in config (``paths.roots``): ``gs: {linux: /gs, windows: "Z:/",
cloud: /gs}`` (or one string for every platform). ``/gs/work/a.exr`` on Linux and
``Z:\\work\\a.exr`` on Windows are both ``("gs", "work/a.exr")``, so the team index recognises a
file whoever uploaded it. A file under no root still gets a logical path under an automatic root
(``_posix``, ``_drive_c``, ``_unc``) so nothing a scene needs is ever silently dropped; automatic
roots start with ``_``, which configured names may not."""
from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Tuple

from ..errors import ConfigError
from ..paths import normpath

if TYPE_CHECKING:
    from ..config import Config

PLATFORMS = ("linux", "windows", "darwin", "cloud")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_DRIVE_RE = re.compile(r"^([A-Za-z]):/")


def current_platform() -> str:
    if sys.platform.startswith("win"):
        return "windows"
    return "darwin" if sys.platform == "darwin" else "linux"


def _windowsish(location: str) -> bool:
    return bool(_DRIVE_RE.match(location)) or location.startswith("//")


def _under(path: str, location: str) -> Optional[str]:
    """The part of ``path`` below ``location``, or None. Drive and UNC locations compare without
    case, as Windows does."""
    base = location.rstrip("/")
    p, b = (path.lower(), base.lower()) if _windowsish(location) else (path, base)
    if p == b:
        return ""
    if p.startswith(b + "/"):
        return path[len(base) + 1:]
    return None


def auto_root(path: str) -> Tuple[str, str]:
    """The automatic root for a normalised absolute path outside every configured root."""
    m = _DRIVE_RE.match(path)
    if m:
        return "_drive_" + m.group(1).lower(), path[3:]
    if path.startswith("//"):
        return "_unc", path[2:]
    return "_posix", path.lstrip("/")


class Roots:
    """The roots of one config, seen from one platform."""

    def __init__(self, table: Mapping[str, Any], platform: Optional[str] = None) -> None:
        self.platform = platform or current_platform()
        self.table: Dict[str, Dict[str, str]] = {}
        for name, spec in (table or {}).items():
            if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
                raise ConfigError(f"paths.roots.{name}: a root name is letters, digits, '_', '-', '.' and may not start with '_'")
            if isinstance(spec, str):
                spec = {p: spec for p in PLATFORMS}
            if not isinstance(spec, dict) or not all(isinstance(v, str) for v in spec.values()):
                raise ConfigError(f"paths.roots.{name}: expected a path or a mapping of platform to path")
            unknown = set(spec) - set(PLATFORMS)
            if unknown:
                raise ConfigError(f"paths.roots.{name}: unknown platform {sorted(unknown)[0]!r} (use {', '.join(PLATFORMS)})")
            self.table[name] = {p: normpath(v) for p, v in spec.items() if v}

    @classmethod
    def from_config(cls, config: Config, platform: Optional[str] = None) -> "Roots":
        table = config.get("paths.roots", {}) if config is not None else {}
        return cls(table or {}, platform)

    def location(self, root: str, platform: Optional[str] = None) -> Optional[str]:
        """Where ``root`` is on ``platform`` (default: this one); None when it has no place there."""
        platform = platform or self.platform
        if root in self.table:
            return self.table[root].get(platform)
        if platform == "cloud":
            return None
        if root == "_posix" and platform in ("linux", "darwin"):
            return "/"
        if platform == "windows" and root == "_unc":
            return "//"
        if platform == "windows" and root.startswith("_drive_") and len(root) == 8:
            return root[-1].upper() + ":/"
        return None

    def logical(self, path: str, normalised: bool = False) -> Tuple[str, str]:
        """``(root, root-relative POSIX path)`` for a local path; the longest matching root wins.
        ``normalised`` says ``path`` already went through :func:`cloudsubmit.paths.normpath`."""
        p = path if normalised else normpath(path)
        best: Optional[Tuple[int, str, str]] = None
        for name, locs in self.table.items():
            loc = locs.get(self.platform)
            if not loc:
                continue
            rel = _under(p, loc)
            if rel is not None and (best is None or len(loc) > best[0]):
                best = (len(loc), name, rel)
        return (best[1], best[2]) if best else auto_root(p)

    def local_path(self, root: str, rel: str, platform: Optional[str] = None) -> Optional[str]:
        """The inverse of :meth:`logical`, or None when the root has no location on ``platform``."""
        loc = self.location(root, platform)
        if loc is None:
            return None
        return loc.rstrip("/") + "/" + rel if rel else loc
