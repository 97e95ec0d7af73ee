"""Which reader reads which file, and which host application a scene extension belongs to.

Data, so a studio could add a format: one row per extension, ``(extension, reader module, host)``.
Everything that asks "is this a Maya scene?" (the scanner, host adapters, the panel, headless
scans) asks :func:`host_extensions` instead of keeping its own list."""
from __future__ import annotations

from typing import Dict, Tuple

from ..paths import scene_extension  # noqa: F401  (the READERS key of a path; re-exported)

_TABLE = (
    (".ma", "maya_ascii", "maya"),
    (".mb", "maya_binary", "maya"),
    (".hip", "houdini_hip", "houdini"),
    (".hipnc", "houdini_hip", "houdini"),
    (".hiplc", "houdini_hip", "houdini"),
    (".usd", "usd", "usd"),
    (".usda", "usd", "usd"),
    (".usdc", "usd", "usd"),
    (".usdz", "usd", "usd"),
    (".ass", "arnold_ass", "arnold"),
    (".ass.gz", "arnold_ass", "arnold"),   # the reader opens gzip by its magic bytes
    (".ocio", "ocio", "ocio"),
    (".vrscene", "vray_scene", "vray"),
    (".xgen", "xgen", "xgen"),
)

READERS: Dict[str, str] = {ext: "cloudsubmit.scan." + module for ext, module, _host in _TABLE}
HOSTS: Dict[str, str] = {ext: host for ext, _module, host in _TABLE}


def host_extensions(host: str) -> Tuple[str, ...]:
    """The scene extensions of ``host`` ("maya", "houdini", ...), in table order."""
    return tuple(ext for ext, _module, h in _TABLE if h == host)
