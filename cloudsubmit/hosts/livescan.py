"""Scan a live session: the host's file list goes through the same expander as the offline
readers, so "what the farm needs" means the same thing in the panel, in mayapy and on the CLI.

A :class:`~cloudsubmit.hosts.base.HostSnapshot` is plain data, so this runs on a worker thread.
The snapshot plays the part of a reader's :class:`~cloudsubmit.scan.model.ReadResult` for the open
scene; references it asks to follow (unloaded Maya references, USD layers) are read offline."""
from __future__ import annotations

import os
from typing import Any, Mapping, Optional, Sequence

from ..frames import compact
from ..paths import normpath
from ..progress import ProgressCallback
from ..scan.model import DependencySet, ReadContext, ReadResult, SceneInfo
from .base import HostSnapshot

MAYA_PROJECT_VAR = "MAYA_PROJECT"


def snapshot_info(snap: HostSnapshot) -> SceneInfo:
    start, end, step = snap.frame_range or (None, None, None)
    maya = snap.host == "maya"
    return SceneInfo(
        frame_start=start, frame_end=end, frame_step=step, renderer=snap.renderer, cameras=list(snap.cameras),
        layers=list(snap.layers) if maya else [], rops=[] if maya else list(snap.layers),
        project=snap.variables.get(MAYA_PROJECT_VAR, ""), variables=dict(snap.variables),
    )


def scan_snapshot(snap: HostSnapshot, frames: Optional[Sequence[int]] = None, config: Any = None,
                  env: Optional[Mapping[str, str]] = None, progress: Optional[ProgressCallback] = None) -> DependencySet:
    """Every file the live scene needs for ``frames`` (default: the scene's render range)."""
    from ..scan import scanner

    cfg = config if config is not None else scanner._default_config()
    environ = dict(os.environ if env is None else env)
    environ.update(snap.variables)
    top = normpath(snap.scene)
    info = snapshot_info(snap)
    project = info.project or None
    result = ReadResult(refs=list(snap.refs), info=info)
    ctx = ReadContext(config=cfg, env=environ, frames=list(frames) if frames else None, project=project)
    chosen = sorted(set(int(f) for f in frames)) if frames else scanner.scene_frames(info)
    maya_project = scanner.find_project(top, project) if snap.host == "maya" else None
    if maya_project is not None:
        info.project = maya_project.root
    # The scanner's walk is the one place references are followed and values expanded; the
    # snapshot stands in for reading the top file. (scan-core: a public seam for this is welcome.)
    walk = scanner._Walk(cfg, ctx, chosen, maya_project, progress)
    walk.add(top, os.path.isfile(top), "scene", "scene")
    walk.visit(top, result, 0)
    return DependencySet(
        scene=top, frames=compact(chosen) if chosen else "",
        dependencies=list(walk.deps.values()), outputs=list(walk.outputs.values()),
        warnings=list(dict.fromkeys(walk.warnings)), info=info,
    )
