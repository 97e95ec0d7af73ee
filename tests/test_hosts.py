"""Host adapters against hand-written fakes of exactly the maya.cmds / hou calls they make."""
from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from cloudsubmit.errors import SubmitError
from cloudsubmit.hosts import base, headless
from cloudsubmit.hosts.houdini import HoudiniHost
from cloudsubmit.hosts.maya import MayaHost
from cloudsubmit.ui.launch import MENU_NAME, install_maya_menu as install_menu

from support.hostfakes import FakeHou, installed, maya_modules, maya_scene

REPO = Path(__file__).resolve().parent.parent


def test_maya_host_reads_the_live_scene(tmp_path):
    cmds = maya_scene("/proj")
    with installed(maya_modules(cmds)):
        host = MayaHost()
        assert host.is_live() and host.is_interactive()
        assert host.scene_path() == "/proj/shots/sh010_lighting.ma"
        assert host.frame_range() == (1001.0, 1096.0, 1.0)
        assert host.cameras() == ["shotCam", "persp"]
        assert host.layers() == ["defaultRenderLayer", "rs_beauty"]
        assert host.renderer() == "arnold"
        assert host.variables() == {"MAYA_PROJECT": "/proj"}
        refs = {r.source: r for r in host.file_references()}
    assert refs["skinTex.fileTextureName"].value == "/proj/tex/skin.<UDIM>.tx"
    assert (refs["skinTex.fileTextureName"].tiling, refs["skinTex.fileTextureName"].kind) == ("udim", "texture")
    fire = refs["fireTex.fileTextureName"]
    assert fire.sequence and fire.frame_offset == 10 and fire.tiling == ""
    assert refs["rockCache.abc_File"].kind == "cache"
    assert (refs["charRN"].kind, refs["charRN"].deferred, refs["charRN"].follow) == ("reference", False, False)
    assert (refs["setRN"].deferred, refs["setRN"].follow) == (True, True)  # unloaded: read it offline


def test_maya_save_before_submit_and_untitled_scene():
    cmds = maya_scene("/proj", modified=True)
    with installed(maya_modules(cmds)):
        host = MayaHost()
        assert host.is_modified()
        assert host.save_scene() == "/proj/shots/sh010_lighting.ma"
        assert cmds.saved == ["/proj/shots/sh010_lighting.ma"] and not host.is_modified()
        cmds.scene = ""
        with pytest.raises(SubmitError, match="never been saved"):
            host.save_scene()


def test_snapshot_is_every_host_answer_as_plain_data():
    maya_host = MayaHost()
    assert not maya_host.is_live()  # no maya in this interpreter: the core reads files offline
    with installed(maya_modules(maya_scene("/p"))):
        assert maya_host.is_live()
        snap = base.snapshot(maya_host)
    assert snap.host == "maya" and snap.frame_range == (1001.0, 1096.0, 1.0)
    assert snap.layer_frames["rs_beauty"] == (1001.0, 1096.0, 1.0) and len(snap.refs) == 5


def test_a_live_layer_is_read_with_its_overrides_and_the_artists_layer_is_put_back():
    # Maya applies a layer's render setup overrides only while it is visible: its range and
    # renderer are read with it made visible, then the artist's layer and "unmodified" come back.
    cmds = maya_scene("/p")
    cmds.nodes["defaultRenderGlobals"]["layers"] = {"rs_fx": {"startFrame": 1040.0, "endFrame": 1060.0,
                                                              "currentRenderer": "redshift"}}
    cmds.nodes.update({"rs_fx": {"type": "renderLayer"}, "rs_off": {"type": "renderLayer", "renderable": False}})
    with installed(maya_modules(cmds)):
        host = MayaHost()
        assert host.layers() == ["defaultRenderLayer", "rs_beauty", "rs_fx"]   # rs_off is not rendered
        assert host.frame_range("rs_fx") == (1040.0, 1060.0, 1.0) and host.renderer("rs_fx") == "redshift"
        assert host.frame_range("defaultRenderLayer") == (1001.0, 1096.0, 1.0)   # visible: no switch
        assert cmds.layer == "defaultRenderLayer" and not host.is_modified()
        assert cmds.switches == ["rs_fx", "defaultRenderLayer", "rs_fx", "defaultRenderLayer"]
        snap = base.snapshot(host)
    assert snap.layer_frames == {"defaultRenderLayer": (1001.0, 1096.0, 1.0), "rs_beauty": (1001.0, 1096.0, 1.0),
                                 "rs_fx": (1040.0, 1060.0, 1.0)}
    assert snap.layer_renderers["rs_fx"] == "redshift" and cmds.layer == "defaultRenderLayer"
    assert snap.layer_cameras == {"defaultRenderLayer": ["shotCam"], "rs_beauty": ["shotCam"], "rs_fx": ["shotCam"]}
    cmds.modified = True    # an artist's unsaved change stays flagged
    with installed(maya_modules(cmds)):
        MayaHost().frame_range("rs_fx")
    assert cmds.modified


def test_a_live_layer_renders_the_cameras_renderable_in_it():
    # render setup (or a legacy layer) overrides a camera's .renderable per layer: read with the
    # layer visible, like its range, and the artist's layer and "unmodified" come back
    cmds = maya_scene("/p")
    cmds.nodes["perspShape"]["layers"] = {"rs_beauty": {"renderable": True}}
    cmds.nodes["shotCamShape"]["layers"] = {"rs_beauty": {"renderable": False}}
    with installed(maya_modules(cmds)):
        host = MayaHost()
        assert host.layer_cameras("rs_beauty") == ["persp"] and host.layer_cameras("defaultRenderLayer") == ["shotCam"]
        assert cmds.layer == "defaultRenderLayer" and not host.is_modified()
        assert base.snapshot(host).layer_cameras == {"defaultRenderLayer": ["shotCam"], "rs_beauty": ["persp"]}


def test_maya_menu_only_in_interactive_sessions():
    cmds = maya_scene("/p")
    with installed(maya_modules(cmds)):
        assert install_menu() == MENU_NAME
        assert cmds.menus[MENU_NAME]["label"] == "Cloud" and cmds.menus[MENU_NAME]["parent"] == "MayaWindow"
        assert [i["label"] for i in cmds.menu_items] == ["Submit to Cloud..."]
        install_menu()  # again: replaced, not doubled
        assert cmds.deleted == [MENU_NAME] and len(cmds.menu_items) == 1
    batch = maya_scene("/p", batch=True)
    with installed(maya_modules(batch)):
        assert install_menu() is None and batch.menus == {}


@pytest.mark.parametrize("batch", [False, True])
def test_user_setup_adds_the_menu_only_with_a_ui(batch):
    cmds = maya_scene("/p", batch=batch)
    with installed(maya_modules(cmds)):
        runpy.run_path(str(REPO / "maya" / "scripts" / "userSetup.py"), run_name="__main__")
    assert (MENU_NAME in cmds.menus) is not batch


def test_maya_module_and_shelf_point_at_the_package_and_icon():
    mod = (REPO / "maya" / "cloudsubmit.mod").read_text().splitlines()
    assert mod[0].startswith("+ cloudsubmit ") and "PYTHONPATH +:= .." in mod and "icons: ../icons" in mod
    assert (REPO / "maya" / "shelves" / "shelf_Cloud.mel").read_text().count("show_maya_panel()") == 1
    assert (REPO / "icons" / "cloudsubmit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_houdini_host_reads_rops_cameras_and_file_references():
    hou = FakeHou("/shows/fx/fx_sim.hip")
    with installed({"hou": hou}):
        host = HoudiniHost()
        assert host.is_live() and host.scene_path() == "/shows/fx/fx_sim.hip"
        assert host.layers() == ["/out/beauty", "/out/rs_fx", "/out/cache", "/stage/karma_beauty"]
        assert host.frame_range("/stage/karma_beauty") == (1001.0, 1010.0, 1.0)
        assert host.renderer("/stage/karma_beauty") == "karma"
        assert host.frame_range("/out/beauty") == (1001.0, 1048.0, 2.0)
        assert host.frame_range("/out/rs_fx") == (1017.0, 1017.0, 1.0)  # "render current frame"
        assert host.frame_range() == (1.0, 240.0, 1.0)
        assert [host.renderer(r) for r in host.layers()] == ["mantra", "redshift", "geometry", "karma"]
        assert host.renderer() == "mantra"
        assert host.layer_cameras("/out/beauty") == ["/obj/shotcam"] and host.layer_cameras("/out/rs_fx") == ["/obj/witness"]
        assert host.layer_cameras("/out/cache") == []     # a geometry ROP renders through no camera
        assert host.cameras() == ["/obj/shotcam", "/obj/witness"]
        assert host.variables() == {"HIP": "/shows/fx", "HIPNAME": "fx_sim", "JOB": "/jobs/show"}
        refs = {r.source: r for r in host.file_references()}
    rock = refs["/obj/geo1/file1.file"]
    assert rock.value == "$HIP/geo/rock.$F4.bgeo.sc" and rock.sequence and not rock.output
    assert rock.kind == "geometry"  # the offline reader's parameter table classifies live parms too
    assert not refs["/mat/wood.basecolor_texture"].sequence and refs["/mat/wood.basecolor_texture"].kind == "texture"
    assert len(refs) == 5  # $HFS libraries and op: paths are dropped
    assert refs["/out/beauty.vm_picture"].output and refs["/out/cache.sopoutput"].output
    assert refs["hip"].kind == "hda"


def test_houdini_untitled_and_save():
    hou = FakeHou("/tmp/untitled.hip", new_file=True, modified=True)
    with installed({"hou": hou}):
        host = HoudiniHost()
        assert host.scene_path() == "" and host.is_modified()
        with pytest.raises(SubmitError, match="never been saved"):
            host.save_scene()
        hou._new = False
        assert host.save_scene() == "/tmp/untitled.hip" and hou.saved == ["/tmp/untitled.hip"]


def test_headless_maya_starts_standalone_and_opens_the_scene():
    cmds = maya_scene("/p")
    mods = maya_modules(cmds)
    with installed(mods):
        host = headless.start_headless("/p/shots/sh020.mb", env={"MAYA_LOCATION": "/usr/autodesk/maya2025"})
        assert isinstance(host, MayaHost) and host.is_live()
    assert mods["maya.standalone"].started == ["python"] and cmds.opened == ["/p/shots/sh020.mb"]


def test_headless_falls_back_to_offline_readers():
    assert headless.start_headless("/p/a.ma", env={}) is None  # plain python: no DCC at all
    with installed(maya_modules(maya_scene("/p"), standalone_ok=False)):
        assert headless.start_headless("/p/a.ma", env={"MAYA_LOCATION": "/m"}) is None  # no licence
    with installed(maya_modules(maya_scene("/p"))):
        assert headless.start_headless("/p/a.ma", env={"MAYA_LOCATION": "/m", "CLOUDSUBMIT_OFFLINE": "1"}) is None
        assert headless.start_headless("/p/a.hip", env={"MAYA_LOCATION": "/m"}) is None  # not a Maya scene


def test_headless_hython_loads_the_hip_file():
    hou = FakeHou("/tmp/untitled.hip", new_file=True)
    with installed({"hou": hou}):
        host = headless.start_headless("/shows/fx/fx_sim.hipnc", env={"HFS": "/opt/hfs20.5"})
        assert isinstance(host, HoudiniHost) and hou.loaded == ["/shows/fx/fx_sim.hipnc"]


def demo_shot_in_maya(root: Path) -> "FakeCmds":
    """The packaged demo shot as a live Maya session would list it through filePathEditor."""
    from support.hostfakes import FakeCmds

    src = root.as_posix()
    nodes = {
        "defaultRenderGlobals": {"type": "renderGlobals", "startFrame": 1.0, "endFrame": 3.0, "byFrameStep": 1.0,
                                 "currentRenderer": "arnold"},
        "shotCamShape": {"type": "camera", "parent": "shotCam", "renderable": True},
        "defaultRenderLayer": {"type": "renderLayer"},
        "chair:chair_diffuse": {"type": "file", "useFrameExtension": False, "frameOffset": 0, "uvTilingMode": 3},
        "imagePlaneShape1": {"type": "imagePlane", "useFrameExtension": True, "frameOffset": 0},
        "skyDome_tex": {"type": "file", "useFrameExtension": False, "frameOffset": 0, "uvTilingMode": 0},
        "chairRN": {"type": "reference", "loaded": True},
    }
    files = {
        f"{src}/sourceimages/chair": [("chair_diffuse.1001.png", "chair:chair_diffuse.fileTextureName")],
        f"{src}/sourceimages/plates": [("plate.0001.png", "imagePlaneShape1.imageName")],
        f"{src}/sourceimages/env maps": [("sky dome.hdr", "skyDome_tex.fileTextureName")],
        f"{src}/assets/chair": [("chair.ma", "chairRN")],
    }
    return FakeCmds(f"{src}/scenes/shot010_lighting.ma", nodes, files, project=src)


def test_live_maya_scan_agrees_with_the_offline_reader(tmp_path):
    import shutil

    from cloudsubmit.hosts.headless import headless_scan
    from cloudsubmit.scan import scan_scene

    root = tmp_path / "demo_shot"
    shutil.copytree(REPO / "cloudsubmit" / "examples" / "demo_shot", root)
    scene = str(root / "scenes" / "shot010_lighting.ma")
    offline = scan_scene(scene, frames=[1, 2, 3])
    cmds = demo_shot_in_maya(root)
    with installed(maya_modules(cmds)):
        live = headless_scan(scene, frames=[1, 2, 3], env={"MAYA_LOCATION": "/usr/autodesk/maya2025"})
    assert cmds.opened == [scene]
    assert sorted(d.path for d in live.dependencies) == sorted(d.path for d in offline.dependencies)
    by_path = {d.path: d for d in live.dependencies}
    assert by_path[f"{root.as_posix()}/sourceimages/plates/plate.0003.png"].source == "imagePlaneShape1.imageName"
    assert by_path[f"{root.as_posix()}/sourceimages/chair/chair_diffuse.1003.png"].exists  # UDIM tiles found
    assert live.frames == "1-3" and live.info.renderer == "arnold" and live.info.project == root.as_posix()
    plain = headless_scan(scene, frames=[1, 2, 3], env={})  # no DCC: the offline reader
    assert sorted(d.path for d in plain.dependencies) == sorted(d.path for d in offline.dependencies)


def test_live_houdini_scan_expands_hip_variables_and_frames(tmp_path):
    from cloudsubmit.hosts.livescan import scan_snapshot

    hip = tmp_path / "fx_sim.hip"
    hip.write_bytes(b"HouNC")
    (tmp_path / "geo").mkdir()
    for f in (1001, 1002, 1003):
        (tmp_path / "geo" / f"rock.{f}.bgeo.sc").write_bytes(b"g")
    (tmp_path / "otls").mkdir()
    (tmp_path / "otls" / "studio_tools.hda").write_bytes(b"h")
    hou = FakeHou(hip.as_posix())
    hou.env["HIP"] = tmp_path.as_posix()
    with installed({"hou": hou}):
        snap = base.snapshot(HoudiniHost())
    deps = scan_snapshot(snap, [1001, 1002, 1003], env={})
    found = {d.path: d for d in deps.dependencies}
    t = tmp_path.as_posix()
    assert all(found[f"{t}/geo/rock.{f}.bgeo.sc"].exists for f in (1001, 1002, 1003))
    assert found[f"{t}/otls/studio_tools.hda"].exists and found["/jobs/show/tex/wood.rat"].exists is False
    assert {o.path for o in deps.outputs} >= {f"{t}/render/beauty.$F4.exr"}
    assert deps.info.rops == ["/out/beauty", "/out/rs_fx", "/out/cache", "/stage/karma_beauty"]


def test_the_core_never_imports_hosts_or_ui():
    """Every core module loaded, and neither cloudsubmit.hosts nor cloudsubmit.ui came with it."""
    import json
    import os
    import subprocess
    import sys

    from test_imports import core_modules

    code = ("import importlib, json, sys\n"
            f"for m in {core_modules()!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(n for n in sys.modules if n.startswith(('cloudsubmit.hosts', 'cloudsubmit.ui')))))\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert json.loads(out.stdout) == []


def test_mayapy_submit_uses_the_live_session(tmp_path, monkeypatch, capsys):
    """``mayapy -m cloudsubmit submit`` opens the scene in maya.standalone and submits what the
    live session lists; plain Python submits from the offline reader. Same bundle either way."""
    import json
    import shutil

    from cloudsubmit.cli import main

    root = tmp_path / "demo_shot"
    shutil.copytree(REPO / "cloudsubmit" / "examples" / "demo_shot", root)
    scene = str(root / "scenes" / "shot010_lighting.ma")
    store = tmp_path / "store"
    store.mkdir()
    args = ["submit", scene, "--frames", "1-3", "--dry-run", "--json", "--store", "file://" + store.as_posix()]
    cmds = demo_shot_in_maya(root)
    monkeypatch.setenv("MAYA_LOCATION", "/usr/autodesk/maya2025")
    with installed(maya_modules(cmds)):
        assert main(args + ["--bundle-dir", str(tmp_path / "live")]) == 0
    live = json.loads(capsys.readouterr().out)
    assert cmds.opened == [scene]  # the DCC opened the scene: the live adapter answered
    monkeypatch.delenv("MAYA_LOCATION")
    assert main(args + ["--bundle-dir", str(tmp_path / "offline")]) == 0
    offline = json.loads(capsys.readouterr().out)

    def inputs(out):
        return json.loads((Path(out["bundle"]) / "input_paths.json").read_text(encoding="utf-8"))

    live_files, offline_files = inputs(live)["files"], inputs(offline)["files"]
    assert live_files == offline_files and len(live_files) == 10
    assert f"{root.as_posix()}/sourceimages/plates/plate.0003.png" in live_files
