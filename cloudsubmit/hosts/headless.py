"""Headless submission from ``mayapy -m cloudsubmit ...`` and ``hython -m cloudsubmit ...``.

When the interpreter is a DCC's, the scene is opened in it and the live adapter answers (plug-in
nodes and project rules resolve exactly as in the artist's session). Anywhere else, or when the DCC
cannot start (no licence, a broken scene), the caller uses the offline readers: nothing here ever
fails a submission on its own."""
from __future__ import annotations

import os
import sys
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence

from .base import Host

if TYPE_CHECKING:
    from ..config import Config

OFFLINE_ENV = "CLOUDSUBMIT_OFFLINE"  # "1": never start a DCC, always read scene files offline


def _interpreter(name: str, env_var: str, env: Mapping[str, str]) -> bool:
    """Are we inside ``name`` (mayapy, hython)? The executable says so, or the DCC's own variable
    does; checked before importing anything, so plain Python never trips over a stray package."""
    exe = PurePath(sys.executable).name.lower()
    return exe.startswith(name) or bool(env.get(env_var))


def start_headless(scene: str, env: Optional[Mapping[str, str]] = None) -> Optional[Host]:
    """The live host for ``scene`` in this interpreter, opened and registered; None means "use the
    offline readers". Call it once, before scanning, from a command-line entry point."""
    env = os.environ if env is None else env
    if env.get(OFFLINE_ENV, "") not in ("", "0"):
        return None
    ext = PurePath(scene).suffix.lower()
    from . import houdini, maya

    if ext in maya.MayaHost.scene_extensions and _interpreter("mayapy", "MAYA_LOCATION", env):
        return maya.open_standalone(scene)
    if ext in houdini.HoudiniHost.scene_extensions and _interpreter("hython", "HFS", env):
        return houdini.open_hython(scene)
    return None


def live_scanner(scene: str, project: Optional[str] = None, config: Optional[Config] = None,
                 env: Optional[Mapping[str, str]] = None,
                 progress: Any = None) -> Optional[Callable[[Optional[Sequence[int]]], Any]]:
    """The live session's scan of ``scene`` as a function of the frames, when this interpreter is
    a DCC that can open it (mayapy, hython); None otherwise, so the caller keeps its offline path.
    The scene is opened once: submit asks again for the union of the chosen layers' own ranges,
    which it knows only after the first answer."""
    host = start_headless(scene, env)
    if host is None:
        return None
    from .base import snapshot
    from .livescan import MAYA_PROJECT_VAR, scan_snapshot

    snap = snapshot(host)
    if project:
        snap.variables[MAYA_PROJECT_VAR] = project
    return lambda frames: scan_snapshot(snap, frames, config=config, env=env, progress=progress)


def live_dependencies(scene: str, frames: Optional[Sequence[int]] = None, project: Optional[str] = None,
                      config: Optional[Config] = None, env: Optional[Mapping[str, str]] = None,
                      progress: Any = None) -> Any:
    """The live session's ``DependencySet`` for ``frames`` (see :func:`live_scanner`), or None
    outside a DCC."""
    scan = live_scanner(scene, project, config, env, progress)
    return None if scan is None else scan(frames)


def headless_scan(scene: str, frames: Optional[Sequence[int]] = None, project: Optional[str] = None,
                  config: Optional[Config] = None, env: Optional[Mapping[str, str]] = None, progress: Any = None) -> Any:
    """What ``cloudsubmit scan`` calls under any interpreter: the live session's answer when
    :func:`start_headless` can open ``scene`` (mayapy, hython), else
    :func:`cloudsubmit.scan.scan_scene` (the offline readers). Returns a ``DependencySet``."""
    live = live_dependencies(scene, frames, project, config, env, progress)
    if live is not None:
        return live
    from ..scan import scan_scene

    return scan_scene(scene, frames=frames, project=project, config=config, env=env, progress=progress)
