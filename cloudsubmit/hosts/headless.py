"""Headless submission from ``mayapy -m cloudsubmit ...`` and ``hython -m cloudsubmit ...``.

When the interpreter is a DCC's, the scene is opened in it and the live adapter answers (plug-in
nodes and project rules resolve exactly as in the artist's session). Anywhere else, or when the DCC
cannot start (no licence, a broken scene), the caller uses the offline readers: nothing here ever
fails a submission on its own."""
from __future__ import annotations

import os
import sys
from pathlib import PurePath
from typing import Mapping, Optional

from .base import Host

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
