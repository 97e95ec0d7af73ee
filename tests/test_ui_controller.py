"""The panel's logic without Qt: validation, totals, filtering, what Submit does, remembered settings."""
from __future__ import annotations

import json
import os
import posixpath
import subprocess
import sys
from pathlib import Path

import pytest

from cloudsubmit.errors import Cancelled, CloudSubmitError, StoreError
from cloudsubmit.hosts.base import HostSnapshot
from cloudsubmit.scan.model import SceneInfo
from cloudsubmit.vocabulary import IN_STORE
from cloudsubmit.ui.controller import ASYNC_ROWS, SubmitController, describe_error
from cloudsubmit.ui.models import check_frames
from cloudsubmit.units import human_size
from cloudsubmit.config import load_config
from cloudsubmit.ui.settings import PanelSettings, config_defaults, load_settings, settings_path

from support.uifakes import FakeCore, listed_files, make_files


@pytest.fixture(autouse=True)
def _user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def scanned(ctrl: SubmitController):
    ctrl.start("scan")
    ctrl.scan_done(ctrl.scan_task()(None))
    return ctrl


def make_ctrl(tmp_path, files, in_store=(), **kw):
    core = FakeCore(files, set(in_store), **kw)
    ctrl = SubmitController(core.services())
    scene = tmp_path / "shot010.ma"
    scene.write_text("//Maya ASCII 2023 scene\n")
    ctrl.load_scene(str(scene))
    return ctrl, core


def test_frame_field_counts_and_flags_bad_specs_inline():
    assert check_frames("1-100x5").count == 20
    assert check_frames("1-10, 20").frames == list(range(1, 11)) + [20]
    bad = check_frames("1-abc")
    assert bad.count == 0 and "1-abc" in bad.error
    assert "enter the frames" in check_frames("  ").error
    huge = check_frames("1-100000000")  # answered at once, without building 100 million frames
    assert huge.count == 0 and "more than 100000 frames" in huge.error
    assert check_frames("1-200000x2").count == 100000


def test_frames_summary_shows_chunks_and_scout(tmp_path):
    ctrl, _ = make_ctrl(tmp_path, [])
    ctrl.set_frame_text("1-100")
    ctrl.set_chunk_size(15)
    assert ctrl.frames_summary() == "100 frames, 7 chunks, scout 1,51,100"
    ctrl.set_scout(False)
    assert ctrl.frames_summary() == "100 frames, 7 chunks"
    ctrl.set_frame_text("10-x")
    assert "10-x" in ctrl.frames_summary()


def test_totals_text_counts_store_upload_bytes_and_missing(tmp_path):
    files = make_files(tmp_path / "tex", 132 - 1, size=10, missing=1)
    big = files[:12]
    for p in big:  # 12 files of 100 MiB to upload (sparse: nothing really written)
        with open(p, "r+b") as f:
            f.truncate(100 * 1024 * 1024)
    ctrl, _ = make_ctrl(tmp_path, files, in_store=files[12:131])
    assert ctrl.totals_text() == "Not scanned yet."
    scanned(ctrl)
    assert ctrl.totals_text() == "132 files, 119 already in the cloud, 12 to upload, 1.2 GB, 1 missing"


def test_totals_before_the_store_answered(tmp_path):
    files = make_files(tmp_path / "tex", 3, size=500)
    ctrl, core = make_ctrl(tmp_path, files)
    ctrl.set_dependencies(core.scan(ctrl.scene, None, None, None))
    assert ctrl.totals_text() == "3 files, 3 not checked against the cloud yet, 1.5 KB, 0 missing"


def test_missing_files_block_submit_until_override(tmp_path):
    files = make_files(tmp_path / "tex", 2, missing=1)
    ctrl, core = make_ctrl(tmp_path, files)
    ctrl.set_frame_text("1-10")
    assert "scan the scene first" in ctrl.submit_blockers()
    scanned(ctrl)
    assert not ctrl.can_submit()
    assert any("1 file missing" in b for b in ctrl.submit_blockers())
    with pytest.raises(CloudSubmitError, match="missing"):
        ctrl.submit_task()
    assert core.submitted == []
    ctrl.set_allow_missing(True)
    assert ctrl.can_submit()
    result = ctrl.submit_task()(None)
    request, deps = core.submitted[0]
    assert request.allow_missing and request.frames == "1-10" and request.job_name == "shot010"
    assert deps.dependencies == core.scan(ctrl.scene, None, None, None).dependencies  # as scanned, in order
    assert ctrl.dependencies.dependencies == []  # the panel holds the rows, not a record per file
    ctrl.submit_done(result)
    assert ctrl.status_lines()[0] == "Job job-0001 submitted. 3 stages queued"
    assert "already submitted as job job-0001" in ctrl.submit_blockers()[0]  # no double submit
    ctrl.set_priority(5)
    assert ctrl.can_submit()


def test_bad_frames_and_job_name_block_submit(tmp_path):
    ctrl, _ = make_ctrl(tmp_path, make_files(tmp_path / "tex", 1))
    ctrl.set_frame_text("1-10")
    scanned(ctrl)
    assert ctrl.can_submit()
    ctrl.set_job_name("two\nlines")
    assert not ctrl.can_submit()
    ctrl.set_job_name("  ")
    assert "give the job a name" in ctrl.submit_blockers()
    ctrl.set_job_name("ok")
    ctrl.set_frame_text("zz")
    assert any("zz" in b for b in ctrl.submit_blockers())
    ctrl.set_frame_text("1-10")
    ctrl.start("upload")
    assert ctrl.submit_blockers() == ["wait for upload to finish"]


def test_filter_by_words_and_state(tmp_path):
    files = make_files(tmp_path / "tex", 20, missing=2)
    ctrl, _ = make_ctrl(tmp_path, files, in_store=files[:5])
    scanned(ctrl)
    seen = []
    ctrl.subscribe(seen.append)
    ctrl.set_filter(text="TEX_0001")
    assert [r.path for r in ctrl.visible] == [p for p in files if "tex_0001" in p]
    assert "rows" in seen
    ctrl.set_filter(text="file3 .filetexturename")  # words match path or node.attr source
    assert [r.source for r in ctrl.visible] == ["file3.fileTextureName"]
    ctrl.set_filter(text="", state="missing")
    assert {r.path for r in ctrl.visible} == set(files[20:])
    ctrl.set_filter(state=IN_STORE)
    assert len(ctrl.visible) == 5
    with pytest.raises(ValueError):
        ctrl.set_filter(state="bogus")


def test_submit_saves_a_modified_scene_and_remembers_choices_outside_it(tmp_path):
    files = make_files(tmp_path / "tex", 2)
    core = FakeCore(files)
    saves = []
    ctrl = SubmitController(core.services(), save_scene=lambda: saves.append(1) or str(tmp_path / "shot.ma"))
    snap = HostSnapshot(host="maya", scene=str(tmp_path / "shot.ma"), modified=True, frame_range=(1001, 1100, 1))
    ctrl.load_scene(snap.scene, snap)
    assert ctrl.frame_text == "1001-1100"
    scanned(ctrl)
    ctrl.set_chunk_size(25)
    ctrl.set_placement("render", "local")
    ctrl.set_priority(7)
    ctrl.submit_task()(None)
    assert saves == [1]
    stored = json.loads(settings_path().read_text())
    assert stored["chunk_size"] == 25 and stored["placement"]["render"] == "local" and stored["priority"] == 7
    assert str(tmp_path / "xdg") in str(settings_path())
    again = SubmitController(core.services())
    assert again.chunk_size == 25 and again.placement["render"] == "local"
    assert not (tmp_path / "shot.ma").exists()  # nothing was written into (or as) the scene


def test_broken_settings_file_falls_back_to_defaults(tmp_path):
    path = tmp_path / "panel.json"
    path.write_text("{not json")
    assert load_settings(path) == PanelSettings()
    path.write_text(json.dumps({"chunk_size": "ten", "placement": {"render": "moon"}, "scout": False}))
    s = load_settings(path)
    assert s.chunk_size == 10 and s.placement == {"upload": "local", "render": "cloud", "download": "local"} and s.scout is False
    with pytest.raises(ValueError):
        SubmitController(FakeCore([]).services(), settings_file=path).set_placement("render", "moon")


def test_houdini_rop_choice_brings_its_range_renderer_and_camera(tmp_path):
    snap = HostSnapshot(
        host="houdini", scene=str(tmp_path / "fx.hip"), frame_range=(1, 240, 1), renderer="mantra",
        cameras=["/obj/cam1"], layers=["/out/beauty", "/out/cache"],
        layer_frames={"/out/beauty": (1001, 1050, 1), "/out/cache": (1, 10, 2)},
        layer_renderers={"/out/beauty": "karma", "/out/cache": "geometry"},
        layer_cameras={"/out/beauty": ["/obj/shotcam"], "/out/cache": []},
    )
    ctrl = SubmitController(FakeCore([]).services())
    ctrl.load_scene(snap.scene, snap, layer="/out/cache")
    assert (ctrl.layer, ctrl.frame_text, ctrl.renderer) == ("/out/cache", "1-10x2", "geometry")
    ctrl.set_layer("/out/beauty")
    assert (ctrl.frame_text, ctrl.renderer, ctrl.camera) == ("1001-1050", "karma", "/obj/shotcam")
    assert "/obj/shotcam" in ctrl.cameras and ctrl.renderers == ["geometry", "karma", "mantra"]


def test_offline_scan_fills_choices_from_the_scene_file(tmp_path):
    info = SceneInfo(frame_start=1, frame_end=48, frame_step=1, renderer="arnold", cameras=["shotCam"],
                     layers=["defaultRenderLayer", "rs_fg"])
    ctrl, core = make_ctrl(tmp_path, make_files(tmp_path / "t", 1), info=info)
    scanned(ctrl)
    assert core.scans[0][1] is None  # no frames typed yet: the scene's own range
    assert (ctrl.frame_text, ctrl.renderer, ctrl.camera, ctrl.layers) == ("1-48", "arnold", "shotCam", ["defaultRenderLayer", "rs_fg"])
    assert ctrl.host_kind == "maya"  # from the file name: no live session here


def test_cancel_through_the_progress_callback(tmp_path):
    ctrl, _ = make_ctrl(tmp_path, [], listed=listed_files(1200))
    task = ctrl.scan_task()
    ctrl.start("scan")
    with pytest.raises(Cancelled) as info:
        task(lambda rep: rep.done < 500)
    ctrl.failed(info.value)
    assert ctrl.error == "Cancelled." and ctrl.busy == "" and ctrl.dependencies is None


def test_errors_in_plain_words():
    assert describe_error(StoreError("bucket s3://x is not reachable")) == "Bucket s3://x is not reachable"
    text = describe_error(KeyError("k"))
    assert text.startswith("Something went wrong") and "Traceback" not in text
    assert human_size(999) == "999 B" and human_size(1_572_864) == "1.5 MB" and human_size(1024) == "1.0 KB" and human_size(None) == ""


def test_status_lines_follow_the_job(tmp_path):
    ctrl, core = make_ctrl(tmp_path, make_files(tmp_path / "t", 1))
    assert ctrl.status_task() is None
    ctrl.set_frame_text("1-10")
    scanned(ctrl)
    ctrl.submit_done(ctrl.submit_task()(None))
    ctrl.status_done(ctrl.status_task()(None))
    assert ctrl.status_lines()[1:3] == ["upload (local): done 12/12", "render (cloud): running 3/10"]
    assert not ctrl.finished()


def test_status_lines_place_post_stages_by_their_name(tmp_path):
    """core status names a post stage's nodes ``post_<name>``; the panel's choice is ``<name>``."""
    from cloudsubmit.ui.services import StageProgress

    ctrl, core = make_ctrl(tmp_path, make_files(tmp_path / "t", 1))
    ctrl.set_frame_text("1-10")
    scanned(ctrl)
    ctrl.placement["comp"] = "local"
    ctrl.submit_done(ctrl.submit_task()(None))
    ctrl.status_done([StageProgress("render", "done", 1, 1), StageProgress("post_comp", "running", 0, 1),
                      StageProgress("post_unknown", "waiting", 0, 1)])
    assert ctrl.status_lines()[1:] == ["render (cloud): done 1/1", "post_comp (local): running 0/1",
                                       "post_unknown: waiting 0/1"]


def test_controller_imports_no_qt():
    code = ("import sys, cloudsubmit.ui.controller, cloudsubmit.ui.services, cloudsubmit.ui.settings\n"
            "print([m for m in sys.modules if m.split('.')[0] in ('Qt', 'PySide6', 'PySide2', 'maya', 'hou')])")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]"


def test_studio_defaults_then_the_users_own_choices(tmp_path):
    class Cfg:  # the shape of cloudsubmit.config.Config.get for the jobs section
        data = {"jobs.chunk": 5, "jobs.scout": True, "jobs.place": {"upload": "local", "render": "local", "download": "local"},
                "jobs.post": [{"name": "comp", "place": "local", "command": ["nuke"]}]}

        def get(self, key, default=None):
            return self.data.get(key, default)

    defaults = config_defaults(Cfg())
    assert defaults.chunk_size == 5 and defaults.placement == {"upload": "local", "render": "local", "download": "local", "comp": "local"}
    assert config_defaults(load_config()).placement["render"] == "cloud"
    path = tmp_path / "panel.json"
    # a saved upload=cloud (offered once, refused by submit) is dropped like an unknown stage
    path.write_text(json.dumps({"chunk_size": 40, "placement": {"comp": "cloud", "gone": "cloud", "upload": "cloud",
                                                                "render": "cloud"}}))
    ctrl = SubmitController(FakeCore([]).services(), settings_file=path, defaults=defaults)
    assert ctrl.chunk_size == 40 and ctrl.placement == {"upload": "local", "render": "cloud", "download": "local", "comp": "cloud"}
    with pytest.raises(ValueError):
        ctrl.set_placement("download", "cloud")


def test_real_services_scan_resolve_submit_and_follow_a_local_run(tmp_path):
    """The panel's logic against the real scanner, a directory store and the local scheduler."""
    from cloudsubmit.commands.demo import copy_example
    from cloudsubmit.ui.corecalls import real_services

    scene = copy_example(str(tmp_path / "w"))
    (tmp_path / "store").mkdir()
    cfg = load_config(user_file=str(tmp_path / "none.yaml"), overrides={
        "store.url": "file://" + (tmp_path / "store").as_posix(), "store.hash_cache": str(tmp_path / "h.sqlite"),
        "store.transfer.node_cache": str(tmp_path / "node"), "jobs.registry": str(tmp_path / "r.jsonl"),
        "jobs.bundle_root": str(tmp_path / "jobs"), "jobs.scheduler": "local", "jobs.renderer": "demo",
        "jobs.output_dir": str(tmp_path / "out")})
    ctrl = SubmitController(real_services(cfg), defaults=config_defaults(cfg), settings_file=tmp_path / "p.json")
    ctrl.load_scene(str(scene))
    scanned(ctrl)
    n = len(ctrl.rows)
    assert ctrl.error == "" and ctrl.totals_text().startswith(f"{n} files, 0 already in the team store, {n} to upload")
    assert ctrl.store_line == f"Team store: {(tmp_path / 'store').as_posix()} (a folder)"  # a folder, not the cloud
    assert ctrl.frame_text == "1-3" and ctrl.camera == "shotCam"  # from the scene file, offline
    ctrl.set_chunk_size(1)
    ctrl.set_scout(False)
    ctrl.set_job_name("lighting check")
    ctrl.set_priority(3)
    ctrl.submit_done(ctrl.submit_task()(None))
    assert "Ran on this machine: done." in ctrl.status_lines()[0]
    assert ctrl.output_folder() == (tmp_path / "out").as_posix()  # "Open folder" goes where the frames are
    ctrl.status_done(ctrl.status_task()(None))
    assert ctrl.finished() and {s.stage: (s.state, s.done) for s in ctrl.stages}["render"] == ("done", 3)
    bars = ctrl.bars.bars  # one bar per stage, the counts the status read
    assert (bars["render (cloud)"].fraction, bars["render (cloud)"].text) == (1.0, "render (cloud): 3/3  done")
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == [f"beauty.{f:04d}.png" for f in (1, 2, 3)]
    subs = [p.read_text() for p in Path(ctrl.job.bundle).glob("*.sub")]
    assert subs and all("priority = 3" in text for text in subs)  # the panel's priority reached HTCondor
    scanned(ctrl)  # the team store now has every file
    assert ctrl.totals_text().startswith(f"{n} files, {n} already in the team store, 0 to upload")


def test_a_file_list_made_for_other_frames_blocks_submit_until_rescanned(tmp_path):
    """The list covered frames 1-3; the form now says 1-10: Submit would have sent 1-3's files."""
    ctrl, core = make_ctrl(tmp_path, make_files(tmp_path / "t", 2))
    ctrl.set_frame_text("1-3")
    scanned(ctrl)
    assert ctrl.can_submit() and not ctrl.needs_rescan()
    ctrl.set_frame_text("1-10")
    assert ctrl.stale and ctrl.needs_rescan()
    assert "the file list is being updated for the new settings" in ctrl.submit_blockers()
    with pytest.raises(CloudSubmitError):
        ctrl.submit_task()
    ctrl.set_frame_text("1-3")  # back to what was scanned: nothing to do
    assert not ctrl.stale and ctrl.can_submit()
    ctrl.set_frame_text("1-10")
    scanned(ctrl)
    assert core.scans[-1][1] == list(range(1, 11)) and ctrl.can_submit()
    ctrl.set_camera("witness")  # the layer and camera count too
    assert ctrl.stale
    ctrl.set_frame_text("x")  # a frame error is its own blocker, no scan for it
    assert not ctrl.needs_rescan() and "the file list is being updated for the new settings" not in ctrl.submit_blockers()


def test_a_failed_rescan_is_not_retried_by_itself(tmp_path):
    ctrl, core = make_ctrl(tmp_path, make_files(tmp_path / "t", 1))
    ctrl.set_frame_text("1-3")
    scanned(ctrl)
    ctrl.set_frame_text("1-5")
    ctrl.start("scan")
    ctrl.failed(CloudSubmitError("the scene is gone"))
    assert ctrl.stale and not ctrl.needs_rescan()  # the Rescan button, not a loop
    ctrl.set_frame_text("1-6")
    assert ctrl.needs_rescan()


def test_what_the_scan_fills_in_itself_does_not_make_the_list_stale(tmp_path):
    from cloudsubmit.scan.model import SceneInfo

    ctrl, core = make_ctrl(tmp_path, make_files(tmp_path / "t", 1),
                           info=SceneInfo(frame_start=1, frame_end=24, layers=["rs_fg"], cameras=["shotCam"]))
    scanned(ctrl)  # no frames typed: the scan used the scene's own range and filled the form with it
    assert ctrl.frame_text == "1-24" and ctrl.layer == "rs_fg" and not ctrl.stale and ctrl.can_submit()


def test_live_maya_layers_bring_their_ranges_and_cameras_and_the_scan_covers_them_all(tmp_path):
    """In a live session the host reads each layer with it visible (its render setup overrides):
    ticking two layers scans the union of their ranges, ticks the cameras they render, and the
    request gives each layer its own range and cameras."""
    from cloudsubmit.hosts.base import snapshot
    from cloudsubmit.hosts.maya import MayaHost

    from support.hostfakes import installed, maya_modules, maya_scene

    cmds = maya_scene(str(tmp_path))
    cmds.nodes["defaultRenderGlobals"]["layers"] = {"rs_beauty": {"startFrame": 1090.0, "endFrame": 1120.0}}
    cmds.nodes["perspShape"]["layers"] = {"rs_beauty": {"renderable": True}}
    with installed(maya_modules(cmds)):
        snap = snapshot(MayaHost())
    core = FakeCore([])
    ctrl = SubmitController(core.services())
    ctrl.load_scene(snap.scene, snap)
    assert (ctrl.layer, ctrl.frame_text, ctrl.chosen_cameras) == ("defaultRenderLayer", "1001-1096", ["shotCam"])
    ctrl.set_layers(["defaultRenderLayer", "rs_beauty"])
    assert ctrl.uses_own_ranges and ctrl.frames == list(range(1001, 1121))
    assert ctrl.chosen_cameras == ["shotCam", "persp"]
    scanned(ctrl)
    assert core.scans[-1][1] == list(range(1001, 1121)) and not ctrl.stale
    req = ctrl.request()
    assert req.layer_frames == {"defaultRenderLayer": "1001-1096", "rs_beauty": "1090-1120"}
    assert req.layer_cameras == {"defaultRenderLayer": ["shotCam"], "rs_beauty": ["shotCam", "persp"]}
    ctrl.set_own_ranges(False)                 # the Frames field for both: the list is stale again
    assert ctrl.frames == list(range(1001, 1097)) and ctrl.stale and ctrl.request().layer_frames == {}


def test_the_layers_ranges_choice_and_hand_ticked_cameras_come_back_with_the_scene(tmp_path):
    """Opened again, a scene brings back its layers, the "each layer its own range" tick the artist
    set, and cameras only if the artist ticked them (pre-ticked ones follow the layers again)."""
    info = SceneInfo(frame_start=1, frame_end=10, frame_step=1, cameras=["cam1", "persp"], layers=["a", "b", "c"],
                     layer_frames={"b": (20, 30, 1)}, layer_cameras={"a": ["cam1"], "b": ["persp"], "c": ["cam1"]})
    ctrl, core = make_ctrl(tmp_path, make_files(tmp_path / "t", 1), info=info)
    scanned(ctrl)
    assert (ctrl.chosen_layers, ctrl.chosen_cameras) == (["a"], ["cam1"])
    ctrl.set_layers(["a", "b"])
    assert ctrl.uses_own_ranges and ctrl.chosen_cameras == ["cam1", "persp"]
    ctrl.set_own_ranges(False)
    ctrl.set_frame_text("3-4")
    scanned(ctrl)
    ctrl.submit_task()(None)
    again = SubmitController(core.services())
    again.load_scene(ctrl.scene)
    scanned(again)
    assert (again.chosen_layers, again.uses_own_ranges, again.frames) == (["a", "b"], False, [3, 4])
    assert again.chosen_cameras == ["cam1", "persp"] and not again.form.cameras_by_hand
    again.set_own_ranges(True)
    again.set_cameras(["persp"])
    scanned(again)
    again.submit_task()(None)
    third = SubmitController(core.services())
    third.load_scene(ctrl.scene)
    scanned(third)
    assert (third.uses_own_ranges, third.frames, third.chosen_cameras) == (True, list(range(1, 11)) + list(range(20, 31)),
                                                                          ["persp"])
    # the first read of the file names the layers' ranges: the list made for 3-4 is stale, and
    # the rescan the panel starts by itself covers what the layers render
    assert third.stale and third.needs_rescan()
    scanned(third)
    assert core.scans[-1][1] == list(range(1, 11)) + list(range(20, 31)) and not third.stale
    third.set_layers(["c"])                    # a rescan never undoes a change made after the memory came back
    scanned(third)
    assert (third.chosen_layers, third.frames) == (["c"], [3, 4])     # one layer: the Frames field again


def test_several_houdini_rops_each_render_their_own_range_through_their_own_camera(tmp_path):
    """Live Houdini: two ROPs with ranges and cameras of their own, ticked together: each renders
    its own range through its camera (one group per ROP, not ROPs x cameras)."""
    from cloudsubmit.ui.corecalls import own_cameras, render_options

    snap = HostSnapshot(
        host="houdini", scene=str(tmp_path / "fx.hip"), frame_range=(1, 240, 1), renderer="mantra",
        cameras=["/obj/cam1"], layers=["/out/beauty", "/out/mask"],
        layer_frames={"/out/beauty": (1001, 1050, 1), "/out/mask": (1001, 1010, 1)},
        layer_cameras={"/out/beauty": ["/obj/shotcam"], "/out/mask": ["/obj/witness"]})
    ctrl = SubmitController(FakeCore([]).services())
    ctrl.load_scene(snap.scene, snap)
    ctrl.set_layers(["/out/beauty", "/out/mask"])
    assert ctrl.uses_own_ranges and ctrl.frames == list(range(1001, 1051))
    assert ctrl.chosen_cameras == ["/obj/shotcam", "/obj/witness"]
    req = ctrl.request()
    assert req.layer_frames == {"/out/beauty": "1001-1050", "/out/mask": "1001-1010"}
    assert own_cameras(req) == {"/out/beauty": ["/obj/shotcam"], "/out/mask": ["/obj/witness"]}
    assert "camera" not in render_options(req)      # per group, not one camera for the whole job


# -- a big list's view, made by a worker (here: the task run inline) and swapped in ------------

def big_list(tmp_path, n=ASYNC_ROWS + 1_000):
    """A scanned list big enough that its views are made by a task; every third file is in the
    store, the others to upload, three are missing."""
    listed = listed_files(n, missing=3)
    ctrl, _ = make_ctrl(tmp_path, [], in_store={d.path for d in listed[::3]}, listed=listed)
    return scanned(ctrl)


def settle(ctrl):
    """Run the view tasks the controller asks for, one after the other, as the panel's worker does."""
    while (task := ctrl.view_task()) is not None:
        ctrl.view_done(task(None))


def shown_paths(ctrl):
    return [r.path for r in ctrl.visible]


def selected_paths(ctrl):
    return {ctrl.visible[i].path for first, last in ctrl.files.selected for i in range(first, last + 1)}


def test_a_big_lists_filter_is_a_task_and_the_last_keystroke_wins(tmp_path):
    ctrl = big_list(tmp_path)
    everything = shown_paths(ctrl)
    rows_shown = []
    ctrl.subscribe(lambda topic: topic == "rows" and rows_shown.append(ctrl.files.filter_text))
    ctrl.set_filter(text="tex_0")
    first = ctrl.view_task()
    assert first is not None and ctrl.filtering and shown_paths(ctrl) == everything  # the rows stay meanwhile
    done_early = first(None)  # the worker finished "tex_0" ...
    ctrl.set_filter(text="tex_01")  # ... but the artist typed on before its answer came back
    assert ctrl.view_task() is None  # one worker at a time: the next starts when this one's answer is in
    ctrl.set_filter(text="tex_012")
    ctrl.view_done(done_early)
    assert rows_shown == [] and shown_paths(ctrl) == everything  # an older generation is never shown
    latest = ctrl.view_task()
    ctrl.set_filter(text="tex_0123")
    superseded = latest(None)
    assert superseded[2] is None  # superseded while it ran: it stopped early, with nothing to show
    ctrl.view_done(superseded)
    settle(ctrl)
    assert rows_shown == ["tex_0123"] and not ctrl.filtering
    assert shown_paths(ctrl) == [p for p in everything if "tex_0123" in p]
    assert sorted(shown_paths(ctrl)) == [f"/gs/show/tex/tex_{i:05d}.exr" for i in range(1230, 1240)]


def test_a_view_made_for_the_list_before_a_rescan_is_never_shown(tmp_path):
    ctrl = big_list(tmp_path)
    ctrl.set_filter(text="tex_0002")
    old_table = ctrl.files.table
    answer = ctrl.view_task()(None)  # made for the old table
    scanned(ctrl)  # a rescan brings a new table meanwhile
    assert ctrl.files.table is not old_table
    ctrl.view_done(answer)
    assert ctrl.filtering and ctrl.files.visible.table is old_table  # the old rows stay, not the old answer
    settle(ctrl)
    assert ctrl.files.visible.table is ctrl.files.table
    assert shown_paths(ctrl) == [r.path for r in ctrl.rows if "tex_0002" in r.path]


def test_sorting_then_filtering_and_filtering_then_sorting_show_what_a_plain_sort_and_filter_give(tmp_path):
    from cloudsubmit.vocabulary import TO_UPLOAD

    ctrl = big_list(tmp_path)
    expected = sorted((r.path for r in ctrl.rows if r.state == TO_UPLOAD and "tex_001" in r.path), reverse=True)
    steps = (lambda c: c.sort_rows(1, True), lambda c: c.set_filter(text="TEX_001", state=TO_UPLOAD))
    for order in (steps, steps[::-1]):
        ctrl.set_filter(text="", state="all")
        ctrl.sort_rows(0)
        settle(ctrl)
        ctrl.files.table.views.clear()  # each order made anew
        for step in order:
            step(ctrl)
            settle(ctrl)
        assert shown_paths(ctrl) == expected and not ctrl.filtering


def test_the_selection_follows_its_files_through_a_filter_and_a_sort(tmp_path):
    ctrl = big_list(tmp_path)
    ctrl.select_rows([(0, 3), (10, 10)])  # positions in the view shown, as the table view says them
    chosen = selected_paths(ctrl)
    assert len(chosen) == 5
    ctrl.sort_rows(1, True)
    settle(ctrl)
    assert selected_paths(ctrl) == chosen and shown_paths(ctrl)[0] not in chosen  # moved, still selected
    kept = sorted(chosen)[-1]
    ctrl.set_filter(text=posixpath.basename(kept))  # only one selected file left in view
    settle(ctrl)
    assert shown_paths(ctrl) == [kept] and selected_paths(ctrl) == {kept}
    ctrl.set_filter(text="")  # an order the table has, but a selection to carry: a task too
    settle(ctrl)
    assert len(ctrl.visible) == len(ctrl.rows) and selected_paths(ctrl) == {kept}  # what it hid stays unselected
    ctrl.set_filter(text="tex_")
    task = ctrl.view_task()
    ctrl.select_rows([(0, 1)])  # the artist selects others while the worker filters
    ctrl.view_done(task(None))
    assert ctrl.filtering  # that answer carried the old selection: made again
    settle(ctrl)
    assert selected_paths(ctrl) == set(shown_paths(ctrl)[:2]) and not ctrl.filtering
