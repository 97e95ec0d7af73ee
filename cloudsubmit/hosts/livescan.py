"""Scan a live session: the host's file list goes through the same expander as the offline
readers, so "what the farm needs" means the same thing in the panel, in mayapy and on the CLI.

A :class:`~cloudsubmit.hosts.base.HostSnapshot` is plain data, so this runs on a worker thread.
The snapshot plays the part of a reader's :class:`~cloudsubmit.scan.model.ReadResult` for the open
scene; references it asks to follow (unloaded Maya references, USD layers) are read offline."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Mapping, Optional, Sequence

from ..paths import normpath
from ..progress import ProgressCallback
from ..scan.model import DependencySet, ReadResult, SceneInfo
from .base import HostSnapshot

if TYPE_CHECKING:
    from ..config import Config

MAYA_PROJECT_VAR = "MAYA_PROJECT"


def snapshot_info(snap: HostSnapshot) -> SceneInfo:
    start, end, step = snap.frame_range or (None, None, None)
    maya = snap.host == "maya"
    return SceneInfo(
        frame_start=start, frame_end=end, frame_step=step, renderer=snap.renderer, cameras=list(snap.cameras),
        layers=list(snap.layers) if maya else [], rops=[] if maya else list(snap.layers),
        project=snap.variables.get(MAYA_PROJECT_VAR, ""), variables=dict(snap.variables),
        layer_frames={k: (v[0], v[1], v[2]) for k, v in snap.layer_frames.items() if v},
        layer_cameras={k: list(v) for k, v in snap.layer_cameras.items()} if maya else {},
    )


def scan_snapshot(snap: HostSnapshot, frames: Optional[Sequence[int]] = None, config: Optional[Config] = None,
                  env: Optional[Mapping[str, str]] = None, progress: Optional[ProgressCallback] = None) -> DependencySet:
    """Every file the live scene needs for ``frames`` (default: the scene's render range)."""
    from ..scan.scanner import scan_result

    environ = dict(os.environ if env is None else env)
    environ.update(snap.variables)
    info = snapshot_info(snap)
    result = ReadResult(refs=list(snap.refs), info=info)
    return scan_result(normpath(snap.scene), result, frames, info.project or None, config, environ, progress,
                       maya=snap.host == "maya")
