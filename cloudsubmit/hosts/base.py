"""The small host interface, in the style of pyblish hosts.

A host is the live DCC session (Maya, Houdini). It answers a handful of questions about the open
scene; everything else (expanding paths, hashing, the store, the DAG) is the core's job. The core
runs without a host (the offline readers are used); a DCC's entry point (``ui/launch.py``) hands
the panel the host of the session it runs in.

Host methods touch the DCC API and must be called on the DCC's main thread. :func:`snapshot` asks
them all at once and returns plain data that a worker thread may use freely."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ..scan.model import RawRef

FrameRange = Tuple[float, float, float]


class Host:
    """What cloudsubmit needs from a DCC. Subclasses import their DCC module inside methods."""

    name = "host"
    scene_extensions: Tuple[str, ...] = ()

    def is_live(self) -> bool:
        """True when the DCC API is usable in this process."""
        return False

    def is_interactive(self) -> bool:
        """True with a UI (menus, panels); False in mayapy / hython batch."""
        return False

    def scene_path(self) -> str:
        """The open scene file, "" when untitled."""
        raise NotImplementedError

    def is_modified(self) -> bool:
        return False

    def save_scene(self) -> str:
        """Save the open scene (the render must see what the artist sees); returns its path."""
        raise NotImplementedError

    def frame_range(self, layer: str = "") -> FrameRange:
        """(start, end, step) from render settings, or from ROP ``layer`` in Houdini."""
        raise NotImplementedError

    def cameras(self) -> List[str]:
        return []

    def layers(self) -> List[str]:
        """Render layers (Maya) or output drivers (Houdini)."""
        return []

    def renderer(self, layer: str = "") -> str:
        return ""

    def layer_cameras(self, layer: str = "") -> List[str]:
        """The cameras ``layer`` renders: a Maya layer's renderable cameras (its overrides
        applied), a Houdini ROP's camera; [] when the host has no such link."""
        return []

    def file_references(self) -> List[RawRef]:
        """Every file the live scene points at, as written, with its ``node.attr`` source."""
        return []

    def variables(self) -> Dict[str, str]:
        """Session variables a path may use ($HIP, $JOB, the Maya project)."""
        return {}

    def main_window(self) -> Any:
        """The DCC's main window, to parent the panel to (None without a UI)."""
        return None


@dataclass
class HostSnapshot:
    """Everything the panel and the workers need from a host, as plain data."""

    host: str
    scene: str
    modified: bool = False
    frame_range: Optional[FrameRange] = None
    renderer: str = ""
    cameras: List[str] = field(default_factory=list)
    layers: List[str] = field(default_factory=list)
    layer_frames: Dict[str, FrameRange] = field(default_factory=dict)
    layer_renderers: Dict[str, str] = field(default_factory=dict)
    layer_cameras: Dict[str, List[str]] = field(default_factory=dict)
    refs: List[RawRef] = field(default_factory=list)
    variables: Dict[str, str] = field(default_factory=dict)


def snapshot(host: Host) -> HostSnapshot:
    """Ask ``host`` everything once, on the main thread, so workers never call the DCC."""
    layers = list(host.layers())
    return HostSnapshot(
        host=host.name,
        scene=host.scene_path(),
        modified=host.is_modified(),
        frame_range=host.frame_range(),
        renderer=host.renderer(),
        cameras=list(host.cameras()),
        layers=layers,
        layer_frames={name: host.frame_range(name) for name in layers},
        layer_renderers={name: host.renderer(name) for name in layers},
        layer_cameras={name: list(host.layer_cameras(name)) for name in layers},
        refs=list(host.file_references()),
        variables=dict(host.variables()),
    )
