"""Scene scanning: offline readers per format, one expander, one entry point.

A reader is a module with ``read(path: str, ctx: ReadContext) -> ReadResult``; it is chosen by
file extension from :data:`READERS` (data, so a studio could add one)."""
from __future__ import annotations

import posixpath

from .model import Dependency, DependencySet, Output, RawRef, ReadContext, ReadResult, SceneInfo

READERS = {
    ".ma": "cloudsubmit.scan.maya_ascii",
    ".mb": "cloudsubmit.scan.maya_binary",
    ".hip": "cloudsubmit.scan.houdini_hip",
    ".hipnc": "cloudsubmit.scan.houdini_hip",
    ".hiplc": "cloudsubmit.scan.houdini_hip",
    ".usd": "cloudsubmit.scan.usd",
    ".usda": "cloudsubmit.scan.usd",
    ".usdc": "cloudsubmit.scan.usd",
    ".usdz": "cloudsubmit.scan.usd",
    ".ass": "cloudsubmit.scan.arnold_ass",
    ".ass.gz": "cloudsubmit.scan.arnold_ass",   # the reader opens gzip by its magic bytes
    ".ocio": "cloudsubmit.scan.ocio",
    ".vrscene": "cloudsubmit.scan.vray_scene",
    ".xgen": "cloudsubmit.scan.xgen",
}


def scene_extension(path: str) -> str:
    """The :data:`READERS` key for ``path``: its extension in lower case, with the one before a
    ``.gz`` kept (``shot.ass.gz`` -> ``.ass.gz``), because compressed scenes are named that way."""
    name = posixpath.basename(path.replace("\\", "/")).lower()
    ext = posixpath.splitext(name)[1]
    if ext == ".gz":
        inner = posixpath.splitext(name[: -len(ext)])[1]
        return inner + ext if inner else ext
    return ext


from .scanner import scan_scene  # noqa: E402  (after READERS, which the scanner reads)

__all__ = ["READERS", "scene_extension", "scan_scene", "ReadContext", "Dependency", "DependencySet", "Output",
           "RawRef", "ReadResult", "SceneInfo"]
