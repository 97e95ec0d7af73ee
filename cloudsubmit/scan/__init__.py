"""Scene scanning: offline readers per format, one expander, one entry point.

A reader is a module with ``read(path: str, ctx: ReadContext) -> ReadResult``; it is chosen by
file extension from :data:`READERS` (``readers.py``: data, so a studio could add one). This face
only re-exports."""
from __future__ import annotations

from .model import Dependency, DependencySet, Output, RawRef, ReadContext, ReadResult, SceneInfo
from .readers import HOSTS, READERS, host_extensions, scene_extension
from .scanner import scan_scene

__all__ = ["HOSTS", "READERS", "host_extensions", "scene_extension", "scan_scene", "ReadContext", "Dependency",
           "DependencySet", "Output", "RawRef", "ReadResult", "SceneInfo"]
