"""Where a DCC opens cloudsubmit: Maya's "Cloud" menu and shelf button, Houdini's shelf tool and
ROP right-click menu. Called by the start-up files in ``maya/`` and ``houdini/``; the host
adapters (``hosts/``) only answer questions about the scene and never import the panel."""
from __future__ import annotations

from typing import Any, Optional

MENU_NAME = "cloudsubmitMenu"
MENU_LABEL = "Cloud"
SUBMIT_LABEL = "Submit to Cloud..."
ICON = "cloudsubmit.png"


def install_maya_menu() -> Optional[str]:
    """The "Cloud" menu in Maya's main window; nothing in batch mode. Safe to call twice."""
    from ..hosts.maya import maya_cmds

    cmds = maya_cmds()
    if cmds.about(batch=True):
        return None
    if cmds.menu(MENU_NAME, exists=True):
        cmds.deleteUI(MENU_NAME)
    menu = cmds.menu(MENU_NAME, label=MENU_LABEL, parent="MayaWindow", tearOff=True)
    cmds.menuItem(
        label=SUBMIT_LABEL, parent=menu, image=ICON, command=lambda *_: show_maya_panel(),
        annotation="Scan this scene, upload what the cloud lacks and render it on the farm",
    )
    return menu


def show_maya_panel() -> Any:
    """Open the submit panel for the open scene, parented to Maya's main window."""
    from ..hosts.maya import MayaHost
    from .panel import show_panel

    return show_panel(MayaHost())


def show_houdini_panel(rop: str = "") -> Any:
    """Open the submit panel for the open hip file (from the shelf, or a ROP's right-click menu
    with ``rop`` pre-selected), parented to Houdini's main window."""
    from ..hosts.houdini import HoudiniHost
    from .panel import show_panel

    return show_panel(HoudiniHost(), layer=rop)
