"""Scene scanning: offline readers per format, one expander, one entry point.

A reader is a module with ``read(path: str, ctx: ReadContext) -> ReadResult``; it is chosen by
file extension from :data:`READERS` (data, so a studio could add one)."""
from __future__ import annotations

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
    ".ocio": "cloudsubmit.scan.ocio",
}


from .scanner import scan_scene  # noqa: E402  (after READERS, which the scanner reads)

__all__ = ["READERS", "scan_scene", "ReadContext", "Dependency", "DependencySet", "Output", "RawRef", "ReadResult", "SceneInfo"]
