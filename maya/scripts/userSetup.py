"""cloudsubmit's Maya start-up: a "Cloud" menu with "Submit to Cloud..." in interactive sessions.

Maya runs this from the module's scripts folder. Nothing happens in batch mode (mayapy, render
nodes): a farm node must not build menus. Deferred, because the main window does not exist yet
while userSetup runs."""


def _cloudsubmit_menu():
    try:
        from cloudsubmit.ui import launch as cloudsubmit_launch
    except ImportError as exc:  # the module is installed but the package is not on PYTHONPATH
        print("cloudsubmit: not loaded ({}); see docs/install-maya.md".format(exc))
        return
    cloudsubmit_launch.install_maya_menu()


def _cloudsubmit_startup():
    import maya.cmds
    import maya.utils

    if maya.cmds.about(batch=True):
        return
    maya.utils.executeDeferred(_cloudsubmit_menu)


_cloudsubmit_startup()
