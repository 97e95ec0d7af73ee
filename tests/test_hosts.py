"""Host adapters against hand-written fakes of exactly the maya.cmds / hou calls they make."""
from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from cloudsubmit.errors import SubmitError
from cloudsubmit.hosts import base, headless
from cloudsubmit.hosts.houdini import HoudiniHost
from cloudsubmit.hosts.maya import MENU_NAME, MayaHost, install_menu

from hostfakes import FakeHou, installed, maya_modules, maya_scene

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _clean_registry():
    yield
    for host in base.registered_hosts():
        base.deregister_host(host)


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


def test_registry_returns_the_live_host_else_none():
    assert base.current_host() is None
    maya_host = base.register_host(MayaHost())
    assert base.current_host() is None  # no maya in this interpreter: the core reads files offline
    with installed(maya_modules(maya_scene("/p"))):
        assert base.current_host() is maya_host
        snap = base.snapshot(maya_host)
    assert snap.host == "maya" and snap.frame_range == (1001.0, 1096.0, 1.0)
    assert snap.layer_frames["rs_beauty"] == (1001.0, 1096.0, 1.0) and len(snap.refs) == 5
    base.deregister_host(maya_host)
    assert base.registered_hosts() == []


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
    assert (REPO / "maya" / "shelves" / "shelf_Cloud.mel").read_text().count("show_panel()") == 1
    assert (REPO / "icons" / "cloudsubmit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_houdini_host_reads_rops_cameras_and_file_references():
    hou = FakeHou("/shows/fx/fx_sim.hip")
    with installed({"hou": hou}):
        host = HoudiniHost()
        assert host.is_live() and host.scene_path() == "/shows/fx/fx_sim.hip"
        assert host.layers() == ["/out/beauty", "/out/rs_fx", "/out/cache"]
        assert host.frame_range("/out/beauty") == (1001.0, 1048.0, 2.0)
        assert host.frame_range("/out/rs_fx") == (1017.0, 1017.0, 1.0)  # "render current frame"
        assert host.frame_range() == (1.0, 240.0, 1.0)
        assert [host.renderer(r) for r in host.layers()] == ["mantra", "redshift", "geometry"]
        assert host.renderer() == "mantra"
        assert host.layer_camera("/out/beauty") == "/obj/shotcam" and host.layer_camera("/out/rs_fx") == "/obj/witness"
        assert host.cameras() == ["/obj/shotcam", "/obj/witness"]
        assert host.variables() == {"HIP": "/shows/fx", "HIPNAME": "fx_sim", "JOB": "/jobs/show"}
        refs = {r.source: r for r in host.file_references()}
    rock = refs["/obj/geo1/file1.file"]
    assert rock.value == "$HIP/geo/rock.$F4.bgeo.sc" and rock.sequence and not rock.output
    assert not refs["/mat/wood.basecolor_texture"].sequence
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
        assert isinstance(host, MayaHost) and base.current_host() is host
    assert mods["maya.standalone"].started == ["python"] and cmds.opened == ["/p/shots/sh020.mb"]


def test_headless_falls_back_to_offline_readers():
    assert headless.start_headless("/p/a.ma", env={}) is None  # plain python: no DCC at all
    with installed(maya_modules(maya_scene("/p"), standalone_ok=False)):
        assert headless.start_headless("/p/a.ma", env={"MAYA_LOCATION": "/m"}) is None  # no licence
    with installed(maya_modules(maya_scene("/p"))):
        assert headless.start_headless("/p/a.ma", env={"MAYA_LOCATION": "/m", "CLOUDSUBMIT_OFFLINE": "1"}) is None
        assert headless.start_headless("/p/a.hip", env={"MAYA_LOCATION": "/m"}) is None  # not a Maya scene
    assert base.registered_hosts() == []


def test_headless_hython_loads_the_hip_file():
    hou = FakeHou("/tmp/untitled.hip", new_file=True)
    with installed({"hou": hou}):
        host = headless.start_headless("/shows/fx/fx_sim.hipnc", env={"HFS": "/opt/hfs20.5"})
        assert isinstance(host, HoudiniHost) and hou.loaded == ["/shows/fx/fx_sim.hipnc"]


def test_frame_spec_from_host_ranges():
    assert base.frame_spec((1001.0, 1096.0, 1.0)) == "1001-1096"
    assert base.frame_spec((1, 100, 5)) == "1-100x5"
    assert base.frame_spec((17, 17, 1)) == "17" and base.frame_spec(None) == ""
