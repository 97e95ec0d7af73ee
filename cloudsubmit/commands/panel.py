"""`cloudsubmit panel [SCENE]`: the artists' submit panel outside Maya and Houdini (or for a TD
checking a scene). Qt is imported only when the command runs, so `--help` stays light."""
from __future__ import annotations

import os
import sys

from ..errors import EXIT_BAD_INPUT, CloudSubmitError


def register(sub) -> None:
    """Add this module's sub-commands to the CLI parser."""
    p = sub.add_parser(
        "panel", help="open the submit panel for a scene (the same panel as in Maya and Houdini)",
        description="Open the submit panel outside a DCC. The scene is read with the offline readers.",
    )
    p.add_argument("scene", nargs="?", default="", help="scene file (.ma .mb .hip .usd .ass)")
    p.add_argument("--screenshot", metavar="PNG", default="",
                   help="scan, save a picture of the panel to PNG, print the totals and exit (no display needed)")
    p.set_defaults(func=run)


def _needs_display(screenshot: str) -> None:
    """Qt aborts the process without a display; say so in one line instead (or go offscreen for
    a screenshot, which needs none)."""
    if os.environ.get("QT_QPA_PLATFORM") or not sys.platform.startswith("linux"):
        return
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    if screenshot:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return
    raise CloudSubmitError("no display to open the panel on (set DISPLAY, or use `cloudsubmit submit` on a "
                           "machine without one)", exit_code=EXIT_BAD_INPUT)


def run(args) -> int:
    if args.scene:
        from ..scan.scanner import check_scene_file

        check_scene_file(args.scene)
    _needs_display(args.screenshot)
    try:
        from Qt import QtWidgets  # noqa: F401
    except ImportError:
        raise CloudSubmitError("the panel needs Qt: pip install 'cloudsubmit[gui]' (Qt.py and PySide6)") from None
    from ..cli import load_cli_config
    from ..ui.panel import run_standalone
    from ..ui.corecalls import real_services

    return run_standalone(args.scene, services=real_services(load_cli_config(args)), screenshot=args.screenshot)
