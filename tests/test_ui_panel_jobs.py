"""The panel's job side, offscreen with pytest-qt and the real core: Export bundle (and
`cloudsubmit resubmit` of it), progress bars with speed and time left, Open folder, the Local
option when no pool is here, presets, the settings remembered per scene, several layers and
cameras in one job."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

pytest.importorskip("Qt")
pytest.importorskip("pytestqt")

from cloudsubmit.config import load_config  # noqa: E402
from cloudsubmit.progress import ProgressReport  # noqa: E402
from cloudsubmit.ui.controller import SubmitController  # noqa: E402
from cloudsubmit.ui.panel import SubmitPanel  # noqa: E402

from fixtures.maya_files import plates, real_layers_with_plate  # noqa: E402
from support.uifakes import FakeCore  # noqa: E402

WAIT_MS = 60_000
LAYERED = """//Maya ASCII 2024 scene
requires maya "2024";
createNode transform -n "shotCam";
createNode camera -n "shotCamShape" -p "shotCam";
createNode transform -n "witness";
createNode camera -n "witnessShape" -p "witness";
createNode renderLayer -n "defaultRenderLayer";
createNode renderLayer -n "rs_fg";
createNode renderLayer -n "rs_bg";
"""
LOG = "import sys; open(sys.argv[1], 'a').write(' '.join(sys.argv[2:]) + chr(10))"


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path, monkeypatch):
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


def _settings(work: Path) -> dict:
    """Everything under ``work``: store, caches, bundles, job list, images (the demo's layout)."""
    (work / "store").mkdir(parents=True, exist_ok=True)
    return {"store.url": "file://" + (work / "store").as_posix(), "store.hash_cache": str(work / "h.sqlite"),
            "store.transfer.node_cache": str(work / "node"), "jobs.registry": str(work / "jobs.jsonl"),
            "jobs.bundle_root": str(work / "jobs"), "jobs.renderer": "demo", "jobs.chunk": 1,
            "jobs.output_dir": str(work / "images")}


def _panel(qtbot, scene: Path, overrides: dict, **kw) -> SubmitPanel:
    from cloudsubmit.ui.corecalls import real_services
    from cloudsubmit.ui.settings import config_defaults

    cfg = load_config(user_file=os.devnull, overrides=overrides, env={})
    ctrl = SubmitController(real_services(cfg), defaults=config_defaults(cfg), **kw)
    ctrl.load_scene(str(scene))
    panel = SubmitPanel(ctrl)
    qtbot.addWidget(panel)
    return panel


def _idle(qtbot, panel) -> None:
    qtbot.waitUntil(lambda: not panel.controller.busy and not panel.runner.busy(), timeout=WAIT_MS)


def _scanned(qtbot, panel, frames: str) -> None:
    panel.frames.setText(frames)
    panel.rescan()
    _idle(qtbot, panel)
    assert panel.controller.error == "" and not panel.controller.stale


def test_export_bundle_writes_it_without_submitting_and_resubmit_submits_it(qtbot, cli, tmp_path):
    from cloudsubmit.commands.demo import copy_example

    work = tmp_path / "w"
    scene = copy_example(str(work))
    settings = dict(_settings(work), **{"jobs.scheduler": "local"})
    panel = _panel(qtbot, scene, settings)
    _scanned(qtbot, panel, "1-3")
    assert panel.export_button.isEnabled() and not panel.open_button.isEnabled()
    qtbot.mouseClick(panel.export_button, qtbot_left())
    _idle(qtbot, panel)
    exported = panel.controller.exported
    bundle = Path(exported.bundle)
    assert panel.message.text() == (f"Bundle written to {bundle}, nothing submitted. "
                                    f"`cloudsubmit resubmit {bundle}` submits it.")
    assert (bundle / "job.json").is_file() and (bundle / "job.dag").is_file()
    assert not (work / "jobs.jsonl").exists() or (work / "jobs.jsonl").read_text() == ""  # nothing submitted
    assert not list((work / "images").glob("*.png")) and list((work / "store").rglob("*")) == []  # store untouched
    assert panel.controller.job is None and panel.submit_button.isEnabled()  # it can still be submitted
    flags = [a for key, value in settings.items() for a in ("--set", f"{key}={value}")]
    res = cli(*flags, "resubmit", str(bundle), "--scheduler", "local", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["local"]["state"] == "done"
    assert sorted(p.name for p in (work / "images").glob("*.png")) == [f"beauty.{f:04d}.png" for f in (1, 2, 3)]
    opened = []
    panel._open_url = lambda url: opened.append(url.toLocalFile()) or True
    panel._render_busy()
    assert panel.open_button.isEnabled()
    qtbot.mouseClick(panel.open_button, qtbot_left())
    assert opened == [(work / "images").as_posix()]


def qtbot_left():
    from Qt import QtCore

    return QtCore.Qt.MouseButton.LeftButton


def test_a_submit_shows_a_bar_per_stage_and_opens_the_folder_the_images_landed_in(qtbot, tmp_path):
    from cloudsubmit.commands.demo import copy_example

    work = tmp_path / "w"
    scene = copy_example(str(work))
    panel = _panel(qtbot, scene, dict(_settings(work), **{"jobs.scheduler": "local"}))
    _scanned(qtbot, panel, "1-2")
    qtbot.mouseClick(panel.submit_button, qtbot_left())
    _idle(qtbot, panel)
    assert "Ran on this machine: done." in panel.status.toPlainText(), panel.message.text()
    panel.refresh_status()
    qtbot.waitUntil(lambda: "render (cloud)" in panel.stage_bars.bars, timeout=WAIT_MS)
    bars = panel.stage_bars.bars
    assert list(bars) == ["upload (local)", "render (cloud)", "download (local)"]
    assert (bars["render (cloud)"].value(), bars["render (cloud)"].format()) == (1000, "2/2  done")
    opened = []
    panel._open_url = lambda url: opened.append(url.toLocalFile()) or True
    assert panel.open_button.isEnabled() and panel.open_folder()
    assert opened == [(work / "images").as_posix()] and len(list((work / "images").glob("*.png"))) == 2


def test_the_bars_say_speed_and_time_left_from_the_clis_own_meter(qtbot, tmp_path):
    """One place computes rates (progress.ProgressMeter) and words them (progress_text): the
    panel's upload bar reads like the CLI's progress line."""
    from cloudsubmit.progress import ProgressMeter, progress_text

    now = [100.0]
    scene = tmp_path / "shot.ma"
    scene.write_text("//Maya ASCII 2023 scene\n")
    ctrl = SubmitController(FakeCore([]).services(), clock=lambda: now[0])
    ctrl.load_scene(str(scene))
    panel = SubmitPanel(ctrl)
    qtbot.addWidget(panel)
    mb = 1024 * 1024
    cli_meter = ProgressMeter(clock=lambda: now[0])
    for second, done in ((0, 0), (2, 10), (4, 20)):
        now[0] = 100.0 + second
        rep = ProgressReport("upload", done // 10, 4, bytes_done=done * mb, bytes_total=40 * mb)
        ctrl.progress(rep)
        cli_line = progress_text(rep, cli_meter.update(rep))
    bar = panel.stage_bars.bars["upload"]
    assert cli_line == "upload: 2/4, 20.0 MB of 40.0 MB, 5.0 MB/s, about 4 s left"
    assert (bar.value(), bar.format()) == (500, cli_line[len("upload: "):])
    assert not panel.progress_row.isHidden()


def test_no_pool_here_says_use_the_local_option_and_local_then_runs(qtbot, tmp_path, outside_tmp, monkeypatch):
    from cloudsubmit.commands.demo import copy_example
    from cloudsubmit.ui.controller import NO_POOL_WORDS

    scene = copy_example(str(outside_tmp / "w"))  # DAGMan refuses /tmp: a pool submit needs a shot elsewhere
    settings = dict(_settings(tmp_path / "w"), **{"jobs.scheduler": "htcondor", "jobs.bundle_root": "",
                                                  "jobs.place.render": "local"})
    panel = _panel(qtbot, scene, settings)
    assert panel.scheduler.currentText() == "HTCondor pool"
    _scanned(qtbot, panel, "1")
    path = os.environ.get("PATH", "")
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no condor_submit_dag, no condor_dagman
    qtbot.mouseClick(panel.submit_button, qtbot_left())
    _idle(qtbot, panel)
    assert panel.message.text() == NO_POOL_WORDS
    assert "Use the Local option" in NO_POOL_WORDS and "--" not in NO_POOL_WORDS
    jobs = scene.parent.parent / "cloudsubmit" / "jobs"
    assert not jobs.exists() or list(jobs.iterdir()) == []  # refused before a bundle was written
    monkeypatch.setenv("PATH", path)
    panel.scheduler.setCurrentIndex(panel.scheduler.findText("Local (this machine)"))
    assert panel.controller.scheduler == "local"
    qtbot.mouseClick(panel.submit_button, qtbot_left())
    _idle(qtbot, panel)
    assert "Ran on this machine: done." in panel.status.toPlainText(), panel.message.text()


def test_save_as_preset_then_choose_it_on_another_scene(qtbot, tmp_path, monkeypatch):
    from Qt import QtWidgets

    from cloudsubmit.presets import user_presets_dir

    core = FakeCore([])
    first, second = tmp_path / "a.ma", tmp_path / "b.ma"
    for scene in (first, second):
        scene.write_text("//Maya ASCII 2023 scene\n")
    ctrl = SubmitController(core.services())
    ctrl.load_scene(str(first))
    panel = SubmitPanel(ctrl)
    qtbot.addWidget(panel)
    panel.frames.setText("1-100x10")
    panel.chunk.setValue(5)
    panel.priority.setValue(20)
    panel.placement.boxes["render"].setCurrentText("local")
    monkeypatch.setattr(QtWidgets.QInputDialog, "getText", staticmethod(lambda *a, **k: ("lookdev", True)))
    qtbot.mouseClick(panel.save_preset_button, qtbot_left())
    saved = user_presets_dir() / "lookdev.yaml"
    assert saved.is_file() and panel.message.text() == f"Preset 'lookdev' saved to {saved}."
    assert [panel.preset.itemText(i) for i in range(panel.preset.count())] == ["(none)", "lookdev (mine)"]
    monkeypatch.setattr(QtWidgets.QInputDialog, "getText", staticmethod(lambda *a, **k: ("../x", True)))
    qtbot.mouseClick(panel.save_preset_button, qtbot_left())
    assert panel.message.text().startswith("Preset name '../x': use letters")
    other = SubmitController(core.services())
    other.load_scene(str(second))
    again = SubmitPanel(other)
    qtbot.addWidget(again)
    assert again.frames.text() == "" and again.chunk.value() == 10
    again.preset.setCurrentIndex(again.preset.findData("lookdev"))
    assert (again.frames.text(), again.chunk.value(), again.priority.value()) == ("1-100x10", 5, 20)
    assert again.placement.boxes["render"].currentText() == "local" and other.placement["render"] == "local"


def test_a_bad_preset_file_is_one_line_in_the_panel_and_the_others_still_work(qtbot, tmp_path):
    from cloudsubmit.presets import user_presets_dir

    folder = user_presets_dir()
    folder.mkdir(parents=True)
    (folder / "broken.yaml").write_text("chunk: lots\n")
    (folder / "fine.yaml").write_text("chunk: 3\n")
    scene = tmp_path / "a.ma"
    scene.write_text("//Maya ASCII 2023 scene\n")
    ctrl = SubmitController(FakeCore([]).services())
    ctrl.load_scene(str(scene))
    panel = SubmitPanel(ctrl)
    qtbot.addWidget(panel)
    assert ctrl.presets_problems == [f"{folder / 'broken.yaml'}: chunk: expected integer, got string"]
    assert [panel.preset.itemData(i) for i in range(panel.preset.count())] == ["", "fine"]
    assert panel.preset_problem.text() == ctrl.presets_problems[0] and not panel.preset_problem.isHidden()


def test_the_settings_last_used_for_a_scene_come_back_with_it(qtbot, tmp_path):
    from support.uifakes import make_files

    core = FakeCore(make_files(tmp_path / "tex", 2))
    scene, other = tmp_path / "a.ma", tmp_path / "b.ma"
    for path in (scene, other):
        path.write_text("//Maya ASCII 2023 scene\n")

    def opened(path: Path) -> SubmitPanel:
        ctrl = SubmitController(core.services())
        ctrl.load_scene(str(path))
        panel = SubmitPanel(ctrl)
        qtbot.addWidget(panel)
        return panel

    panel = opened(scene)
    _scanned(qtbot, panel, "5-8")
    panel.chunk.setValue(2)
    panel.scout.setChecked(False)
    qtbot.mouseClick(panel.submit_button, qtbot_left())
    _idle(qtbot, panel)
    assert core.submitted
    back = opened(scene)
    assert (back.frames.text(), back.chunk.value(), back.scout.isChecked()) == ("5-8", 2, False)
    fresh = opened(other)  # another scene: the user's last chunk, but not the other scene's frames
    assert (fresh.frames.text(), fresh.chunk.value()) == ("", 2)


def test_several_layers_and_cameras_render_one_group_each(qtbot, tmp_path):
    """The layers and cameras read offline from the .ma are offered; ticking two of each gives four
    groups of render nodes, each rendering with its own layer and camera, run for real."""
    shot = tmp_path / "shot"
    shot.mkdir()
    scene = shot / "layers.ma"
    scene.write_text(LAYERED, encoding="utf-8")
    log = tmp_path / "renders.log"
    settings = dict(_settings(tmp_path / "w"), **{
        "jobs.scheduler": "local", "jobs.renderer": "generic", "jobs.place.render": "local", "jobs.chunk": 2,
        "jobs.generic_command": [sys.executable, "-c", LOG, str(log), "{layer}", ["cam={camera}"], "{start}", "{end}"]})
    panel = _panel(qtbot, scene, settings)
    _scanned(qtbot, panel, "1-2")
    assert panel.layer.items() == ["defaultRenderLayer", "rs_fg", "rs_bg"]
    assert panel.camera.items() == ["shotCam", "witness"]
    panel.layer.set_chosen(["rs_bg", "rs_fg"])
    panel.camera.set_chosen(["shotCam", "witness"])
    assert panel.controller.stale and not panel.submit_button.isEnabled()  # the list follows the choice
    panel.rescan()
    _idle(qtbot, panel)
    assert panel.layer.currentText() == "rs_fg, rs_bg" and panel.submit_button.isEnabled()
    qtbot.mouseClick(panel.submit_button, qtbot_left())
    _idle(qtbot, panel)
    assert "Ran on this machine: done." in panel.status.toPlainText(), panel.message.text()
    lines = sorted(log.read_text(encoding="utf-8").splitlines())
    assert lines == sorted(f"{layer} cam={cam} 1 2" for layer in ("rs_fg", "rs_bg") for cam in ("shotCam", "witness"))


def test_several_layers_each_render_their_own_range_and_cameras(qtbot, tmp_path):
    """Ticking two render setup layers whose ranges differ: each renders its own range (shown in
    the layer list), the cameras they render are ticked, the debounced rescan covers the union of
    their frames (a plate only one layer needs is listed, a missing one reported), and the job,
    run for real, renders each layer over its own range through its own cameras."""
    shot = tmp_path / "shot"
    scene = real_layers_with_plate(shot)
    plates(shot, range(1, 26))            # 26-30 (only rs_renderSetupLayer2 renders them) are missing
    log = tmp_path / "renders.log"
    settings = dict(_settings(tmp_path / "w"), **{
        "jobs.scheduler": "local", "jobs.renderer": "generic", "jobs.place.render": "local", "jobs.chunk": 100,
        "jobs.generic_command": [sys.executable, "-c", LOG, str(log), "{layer}", ["cam={camera}"], "{start}", "{end}"]})
    panel = _panel(qtbot, scene, settings)
    panel.rescan()
    _idle(qtbot, panel)
    c = panel.controller
    assert (panel.frames.text(), panel.layer.chosen(), panel.camera.chosen()) == ("1-10", ["defaultRenderLayer"],
                                                                                   ["persp", "camera1"])
    assert not panel.own_ranges.isVisibleTo(panel)     # one layer: the Frames field is its range
    assert "rs_renderSetupLayer2  (20-30; camera1, camera2, camera3)" in panel.layer.labels()
    assert "rs_layerDefaultFrames  (1-10; camera1)" in panel.layer.labels()

    panel.layer.set_chosen(["rs_renderSetupLayer2", "rs_renderSetupLayer4"])
    assert panel.own_ranges.isVisibleTo(panel) and panel.own_ranges.isChecked()    # the ranges differ
    assert (panel.frames.text(), panel.frames.isEnabled()) == ("1-30", False)
    assert panel.frames_info.text() == ("30 frames, 5 chunks, each layer its own range: "
                                        "rs_renderSetupLayer2 20-30, rs_renderSetupLayer4 1-20")
    assert panel.camera.chosen() == ["persp", "camera1", "camera2", "camera3"]    # what the two layers render
    assert c.stale and not panel.submit_button.isEnabled()
    qtbot.waitUntil(lambda: not c.stale and not c.busy and not panel.runner.busy(), timeout=WAIT_MS)  # debounced
    missing = sorted(r.path for r in c.rows if r.state == "missing" and "/plates/" in r.path)
    assert missing == [(shot / "plates" / f"bg.{f:04d}.exr").as_posix() for f in range(26, 31)]
    assert panel.totals.text().startswith("32 files,") and panel.totals.text().endswith("6 missing")
    assert not panel.submit_button.isEnabled() and "6 files missing" in panel.submit_button.toolTip()

    panel.own_ranges.setChecked(False)     # the Frames field for every layer again
    assert (panel.frames.text(), panel.frames.isEnabled(), c.frames) == ("1-10", True, list(range(1, 11)))
    panel.own_ranges.setChecked(True)
    plates(shot, range(26, 31))
    panel.rescan()
    _idle(qtbot, panel)
    assert panel.totals.text().startswith("32 files,") and panel.totals.text().endswith("1 missing")  # the D:/ reference
    panel.override.setChecked(True)
    assert panel.submit_button.isEnabled(), panel.submit_button.toolTip()
    qtbot.mouseClick(panel.submit_button, qtbot_left())
    _idle(qtbot, panel)
    assert "Ran on this machine: done." in panel.status.toPlainText(), panel.message.text()
    assert sorted(log.read_text(encoding="utf-8").splitlines()) == sorted(
        [f"rs_renderSetupLayer2 cam={cam} 20 30" for cam in ("camera1", "camera2", "camera3")]
        + [f"rs_renderSetupLayer4 cam={cam} 1 20" for cam in ("persp", "camera1")])
    sent = json.loads((Path(c.job.bundle) / "input_paths.json").read_text(encoding="utf-8"))["files"]
    assert {(shot / "plates" / f"bg.{f:04d}.exr").as_posix() for f in range(1, 31)} <= set(sent)


def test_legacy_render_layers_show_and_render_their_own_ranges_like_render_setup_ones(qtbot, tmp_path):
    """A scene without render setup (legacy layers, their adjustments as Maya 2011-2016 wrote
    them): the panel shows each layer's own range and cameras the same way, and two layers ticked
    cover the union of their frames."""
    from fixtures.maya_files import file_node, node, render_globals, write_ma

    def legacy(name: str, *adjustments: tuple) -> list:
        body = [f'setAttr -s {len(adjustments)} ".adjs";'] + [f'setAttr ".adjs[{i}].val" {v};'
                                                            for i, (_p, v) in enumerate(adjustments)]
        return [node("renderLayer", name, *body)] + [f'connectAttr "{p}" "{name}.adjs[{i}].plg";'
                                                     for i, (p, _v) in enumerate(adjustments)]

    shot = tmp_path / "shot"
    plates(shot, range(1001, 1011))
    blocks = [node("transform", "shotCam"), node("camera", "shotCamShape", parent="shotCam"),
              node("renderLayerManager", "renderLayerManager", 'setAttr ".crl" 1;'),
              *legacy("defaultRenderLayer", (":defaultRenderGlobals.fs", "1001"), (":defaultRenderGlobals.ef", "1010")),
              *legacy("fg", (":defaultRenderGlobals.fs", "1001"), (":defaultRenderGlobals.ef", "1010")),
              *legacy("bg", (":defaultRenderGlobals.ef", "1020")),
              file_node("plateTex", (shot / "plates" / "bg.1001.exr").as_posix(), ufe="yes"),
              render_globals(1001, 1010, prefix="<Scene>/<RenderLayer>")]
    scene = write_ma(shot / "legacy.ma", blocks)
    panel = _panel(qtbot, scene, _settings(tmp_path / "w"))
    panel.rescan()
    _idle(qtbot, panel)
    assert panel.layer.items() == ["defaultRenderLayer", "fg", "bg"]
    assert "bg  (1001-1020; shotCam)" in panel.layer.labels() and "fg  (1001-1010; shotCam)" in panel.layer.labels()
    panel.layer.set_chosen(["fg", "bg"])
    assert panel.own_ranges.isChecked() and panel.frames.text() == "1001-1020"
    qtbot.waitUntil(lambda: not panel.controller.stale and not panel.runner.busy(), timeout=WAIT_MS)
    missing = sorted(r.path for r in panel.controller.rows if r.state == "missing")
    assert missing == [(shot / "plates" / f"bg.{f:04d}.exr").as_posix() for f in range(1011, 1021)]
