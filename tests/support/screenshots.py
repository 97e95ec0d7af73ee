"""Save PNG screenshots of the real panel, in a Maya-like and a Houdini-like session (the host
fakes), for the docs: ``QT_QPA_PLATFORM=offscreen python tests/support/screenshots.py [OUT_DIR]``
(without OUT_DIR: docs/images/, and the icons in icons/ are redrawn too). The PySide2 picture:
``QT_QPA_PLATFORM=offscreen PYTHONPATH=. <PySide2 python> tests/support/screenshots.py --maya-only
docs/images/panel-maya-pyside2.png``.

The panel is the real one. In the Maya and Houdini pictures only the scene data is canned (no DCC
here), so they show what an artist sees on a typical shot; the submitted panel is a real run of
the packaged demo shot (real scan, a directory store, the local scheduler), so its job id and
stage counts are what the program prints. ``test_ui_panel`` runs this into a temporary folder so
it cannot rot."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent.parent)]  # tests/ (for support.*) and the repo

from cloudsubmit.errors import CloudSubmitError  # noqa: E402
from cloudsubmit.scan.model import Dependency, DependencySet  # noqa: E402
from cloudsubmit.ui.services import Services  # noqa: E402
from cloudsubmit.vocabulary import IN_STORE, TO_UPLOAD  # noqa: E402

SHOT = "/gs/work/neo/cloudTest"


def canned_dependencies(scene: str, maya: bool) -> DependencySet:
    deps: List[Dependency] = []
    if maya:
        deps += [Dependency(f"{SHOT}/assets/char/tex/skin.{1001 + i}.tx", True, 48_000_000, "texture",
                            "skinTex.fileTextureName") for i in range(6)]
        deps += [Dependency(f"{SHOT}/assets/char/char_rig.ma", True, 31_500_000, "reference", "charRN"),
                 Dependency(f"{SHOT}/assets/set/set_dressing.mb", True, 220_000_000, "reference", "setRN"),
                 Dependency(f"{SHOT}/cache/rock.abc", True, 412_000_000, "cache", "rockCache.abc_File"),
                 Dependency(f"{SHOT}/tex/hdri/sky_4k.exr", True, 96_000_000, "texture", "skyDome.aiFilename"),
                 Dependency(f"{SHOT}/tex/decals/logo.tx", False, None, "texture", "logoTex.fileTextureName")]
        deps += [Dependency(f"{SHOT}/cache/fx/fire.{f:04d}.vdb", True, 18_000_000, "volume", "fireVol.filename")
                 for f in range(1001, 1025)]
    else:
        deps += [Dependency(f"{SHOT}/geo/rock.{f:04d}.bgeo.sc", True, 6_400_000, "file", "/obj/geo1/file1.file")
                 for f in range(1001, 1049, 2)]
        deps += [Dependency("/jobs/show/tex/wood.rat", True, 22_000_000, "file", "/mat/wood.basecolor_texture"),
                 Dependency(f"{SHOT}/otls/studio_tools.hda", True, 1_200_000, "hda", "hip")]
    return DependencySet(scene=scene, frames="", dependencies=deps)


def canned_services(maya: bool) -> Services:
    def scan(scene, frames, snap, progress):
        return canned_dependencies(scene, maya)

    def resolve(paths, progress):  # a teammate already sent the character and the set
        return {p: IN_STORE if ("/assets/" in p or "/tex/" in p or p.endswith(".hda")) else TO_UPLOAD for p in paths}

    def submit(request, deps, progress):  # canned scenes are never submitted: the submitted picture is real
        raise CloudSubmitError("the canned screenshot scenes are not submitted")

    def status(job_id):
        return []

    # the store the canned studio uses: S3, so its files are "in the cloud"
    return Services(scan=scan, resolve=resolve, submit=submit, status=status,
                    extra={"store_url": "s3://studio-render/neo"})


def submitted_demo(work: Path) -> "object":
    """A standalone panel on a copy of the demo shot, submitted for real (local scheduler, demo
    renderer, a directory store under ``work``) and showing the job's real status."""
    from cloudsubmit.commands.demo import copy_example, demo_settings
    from cloudsubmit.config import load_config
    from cloudsubmit.ui.panel import build_panel, wait_idle
    from cloudsubmit.ui.corecalls import real_services

    scene = copy_example(str(work))
    overrides = dict(demo_settings(work), **{"jobs.scheduler": "local", "jobs.chunk": 1})
    cfg = load_config(user_file=str(work / "no-user.yaml"), overrides=overrides)
    panel = build_panel(str(scene), services=real_services(cfg))
    panel.show()
    panel.rescan()
    wait_idle(panel)
    panel.submit()
    wait_idle(panel, timeout_s=180)
    panel.refresh_status()
    wait_idle(panel)
    return panel


def layers_shot(work: Path, png: Path) -> Path:
    """The real render setup scene read offline (tests/fixtures/real/maya/deadline/layers.ma, with
    a per-frame plate added): two layers ticked whose ranges differ, each rendering its own, and
    the plates only one of them needs reported missing. A real scan against a folder store."""
    from cloudsubmit.config import load_config
    from cloudsubmit.ui.corecalls import real_services
    from cloudsubmit.ui.panel import build_panel, wait_idle
    from fixtures.maya_files import plates, real_layers_with_plate

    shot = work / "shot"
    scene = real_layers_with_plate(shot)
    plates(shot, range(1, 26))
    (work / "store").mkdir()
    cfg = load_config(user_file=str(work / "no-user.yaml"), overrides={
        "store.url": "file://" + (work / "store").as_posix(), "store.hash_cache": str(work / "hashes.sqlite"),
        "jobs.chunk": 10})
    panel = build_panel(str(scene), services=real_services(cfg))
    panel.show()
    panel.rescan()
    wait_idle(panel)
    panel.layer.set_chosen(["rs_renderSetupLayer2", "rs_renderSetupLayer4"])
    panel.rescan()
    wait_idle(panel)
    panel.state_filter.setCurrentIndex(3)  # the missing files
    return _grab(panel, png)


def _dark(app) -> None:
    """Maya and Houdini both run Qt's Fusion style with a dark palette."""
    from Qt import QtGui

    app.setStyle("Fusion")
    pal = QtGui.QPalette()
    roles = QtGui.QPalette.ColorRole
    for role, colour in ((roles.Window, "#444444"), (roles.WindowText, "#dddddd"), (roles.Base, "#2b2b2b"),
                         (roles.AlternateBase, "#333333"), (roles.Text, "#dddddd"), (roles.Button, "#5d5d5d"),
                         (roles.ButtonText, "#eeeeee"), (roles.Highlight, "#5285a6"), (roles.ToolTipBase, "#ffffdc")):
        pal.setColor(role, QtGui.QColor(colour))
    for role in (roles.ButtonText, roles.Text, roles.WindowText):  # greyed out, as in the DCCs
        pal.setColor(QtGui.QPalette.ColorGroup.Disabled, role, QtGui.QColor("#808080"))
    pal.setColor(QtGui.QPalette.ColorGroup.Disabled, roles.Button, QtGui.QColor("#4a4a4a"))
    app.setPalette(pal)


def save_screenshots(out_dir: Path) -> Dict[str, Path]:
    """Render the panel for a Maya and a Houdini scene and save them; returns {name: png}."""
    from Qt import QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["cloudsubmit-screenshots"])
    _dark(app)
    out_dir.mkdir(parents=True, exist_ok=True)
    saved = {}
    with tempfile.TemporaryDirectory(prefix="cloudsubmit-shots-user-") as user:
        with _user_folders(Path(user)):  # the pictures show a first panel, not this machine's memory
            saved["maya"] = maya_shot(out_dir / "panel-maya.png")
            with tempfile.TemporaryDirectory(prefix="cloudsubmit-shots-") as work:
                saved["layers"] = layers_shot(Path(work), out_dir / "panel-layers.png")
            saved.update(_houdini_and_submitted(out_dir))  # last: a submit remembers its chunk size
    return saved


def maya_shot(png: Path) -> Path:
    """The Maya picture: the artist's preset chosen and both render layers ticked. Also what
    ``--maya-only`` draws under PySide2 for ``panel-maya-pyside2.png``."""
    from cloudsubmit.hosts.maya import MayaHost
    from cloudsubmit.ui.panel import show_panel, wait_idle
    from support.hostfakes import installed, maya_modules, maya_scene

    _show_presets()
    with installed(maya_modules(maya_scene(SHOT, modified=False))):
        panel = show_panel(MayaHost(), services=canned_services(maya=True))
        wait_idle(panel)
        panel.preset.setCurrentIndex(panel.preset.findData("lighting-preview"))
        panel.layer.set_chosen(panel.layer.items())  # both layers: one group of render nodes each
        panel.rescan()
        wait_idle(panel)
    return _grab(panel, png)


def _user_folders(root: Path) -> "object":
    """XDG folders under ``root`` for the time of the pictures (the panel remembers choices)."""
    from unittest import mock

    return mock.patch.dict(os.environ, {n: str(root / n.lower()) for n in
                                        ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")})


def _show_presets() -> None:
    """Two of an artist's own presets, saved the way "Save as preset..." saves them."""
    from cloudsubmit.presets import save_preset

    save_preset("lighting-preview", {"frames": "1001-1096x8", "chunk": 4, "scout": True, "priority": 10})
    save_preset("final", {"chunk": 2, "scout": True, "priority": 50, "place": {"render": "cloud"}})


def _houdini_and_submitted(out_dir: Path) -> Dict[str, Path]:
    from cloudsubmit.hosts.houdini import HoudiniHost
    from cloudsubmit.ui.panel import show_panel, wait_idle
    from support.hostfakes import FakeHou, installed

    saved = {}
    with installed({"hou": FakeHou(f"{SHOT}/fx_sim.hip")}):
        panel = show_panel(HoudiniHost(), layer="/out/beauty", services=canned_services(maya=False))
    wait_idle(panel)
    saved["houdini"] = _grab(panel, out_dir / "panel-houdini.png")
    with tempfile.TemporaryDirectory(prefix="cloudsubmit-shots-") as work:
        panel = submitted_demo(Path(work))
        saved["submitted"] = _grab(panel, out_dir / "panel-submitted.png")
    return saved


def save_icons(icon_dir: Path) -> List[Path]:
    """icons/cloudsubmit*.png from the same QPainter drawing as the window icon."""
    from Qt import QtWidgets

    from cloudsubmit.ui.widgets import draw_icon

    QtWidgets.QApplication.instance() or QtWidgets.QApplication(["cloudsubmit-icons"])
    out = []
    for size, name in ((64, "cloudsubmit.png"), (32, "cloudsubmit_32.png"), (128, "cloudsubmit_128.png")):
        draw_icon(size).save(str(icon_dir / name))
        out.append(icon_dir / name)
    return out


def _grab(panel, path: Path, close: bool = True) -> Path:
    panel.grab().save(str(path))
    if close:
        panel.close()
    return path


def _maya_only(png: Path) -> None:
    """``--maya-only PNG``: the Maya picture alone, in a throw-away user folder (run it with a
    PySide2 interpreter for the docs' PySide2 picture; it needs no store and no pool)."""
    from Qt import QtWidgets

    _dark(QtWidgets.QApplication.instance() or QtWidgets.QApplication(["cloudsubmit-screenshots"]))
    with tempfile.TemporaryDirectory(prefix="cloudsubmit-shots-user-") as user:
        with _user_folders(Path(user)):
            print(f"maya: {maya_shot(png)}")


if __name__ == "__main__":
    repo = HERE.parent.parent  # tests/support/ -> the repository
    if sys.argv[1:2] == ["--maya-only"]:
        _maya_only(Path(sys.argv[2]))
        sys.exit(0)
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else repo / "docs" / "images"
    for name, png in save_screenshots(target).items():
        print(f"{name}: {png}")
    if len(sys.argv) == 1:
        for png in save_icons(repo / "icons"):
            print(f"icon: {png}")
