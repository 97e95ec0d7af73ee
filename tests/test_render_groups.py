"""Several render layers / cameras / ROPs in one job: one group of render nodes each, every group
with its own tokens and (where the scene overrides it) its own frame range, run for real."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cloudsubmit.api import SubmitOptions, render_groups, submit_scene
from cloudsubmit.config import load_config
from cloudsubmit.errors import ConfigError
from cloudsubmit.jobs.plan import RenderGroup, make_plan
from cloudsubmit.scan.model import Dependency, DependencySet, SceneInfo
from fixtures.maya_files import plates, real_layers_with_plate

LAYERED = """//Maya ASCII 2024 scene
requires maya "2024";
createNode renderLayer -n "defaultRenderLayer";
createNode renderLayer -n "rs_fg";
createNode renderLayer -n "rs_bg";
"""
# The generic renderer runs this per chunk: one line per invocation, with the group's tokens.
LOG = "import sys; open(sys.argv[1], 'a').write(' '.join(sys.argv[2:]) + chr(10))"


def _cfg(tmp_path, log):
    return load_config(overrides={
        "jobs.registry": str(tmp_path / "r.jsonl"),
        "jobs.generic_command": [sys.executable, "-c", LOG, str(log), "{layer}", ["cam={camera}"], "{start}", "{end}"],
    }, env={})


def test_every_layer_and_camera_renders_in_its_own_nodes(cli, tmp_path):
    scene = tmp_path / "shot" / "layers.ma"
    scene.parent.mkdir()
    scene.write_text(LAYERED, encoding="utf-8")
    log = tmp_path / "renders.log"
    common = ["--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "--set",
              "jobs.generic_command=" + json.dumps([sys.executable, "-c", LOG, str(log), "{layer}", ["cam={camera}"],
                                                    "{start}", "{end}"]),
              "submit", str(scene), "--frames", "1-4", "--chunk", "2", "--renderer", "generic",
              "--place", "render=local", "--scheduler", "local", "--json"]
    res = cli(*common, "--layer", "rs_fg", "--layer", "rs_bg", "--camera", "shotCam", "--camera", "witness")
    assert res.returncode == 0, res.stderr
    job = json.loads((Path(json.loads(res.stdout)["bundle"]) / "job.json").read_text(encoding="utf-8"))
    names = [n["name"] for n in job["plan"]["nodes"]]
    assert names == ["render_rs_fg_shotCam_0001", "render_rs_fg_shotCam_0002", "render_rs_fg_witness_0001",
                     "render_rs_fg_witness_0002", "render_rs_bg_shotCam_0001", "render_rs_bg_shotCam_0002",
                     "render_rs_bg_witness_0001", "render_rs_bg_witness_0002"]
    lines = sorted(log.read_text(encoding="utf-8").splitlines())
    assert lines == sorted(f"{layer} cam={cam} {a} {b}" for layer in ("rs_fg", "rs_bg") for cam in ("shotCam", "witness")
                           for a, b in ((1, 2), (3, 4)))
    log.unlink()
    res = cli(*common, "--layer", "all")  # every render layer the scene names
    assert res.returncode == 0, res.stderr
    rendered = {line.split()[0] for line in log.read_text(encoding="utf-8").splitlines()}
    assert rendered == {"defaultRenderLayer", "rs_fg", "rs_bg"}


def test_a_layer_renders_its_own_range_unless_frames_are_given(tmp_path):
    scene = tmp_path / "a.ma"
    scene.write_text(LAYERED, encoding="utf-8")
    info = SceneInfo(frame_start=1, frame_end=10, layers=["rs_fg", "rs_bg"], layer_frames={"rs_bg": (101, 104, 1)})
    deps = DependencySet(str(scene), "", [Dependency(str(scene), True, scene.stat().st_size, "scene", "scene")],
                         info=info)
    groups = render_groups(str(scene), deps, ["rs_fg", "rs_bg"], [], None, list(range(1, 11)))
    assert [(g.label, g.frames[0], g.frames[-1], g.options) for g in groups] == [
        ("rs_fg", 1, 10, {"layer": "rs_fg"}), ("rs_bg", 101, 104, {"layer": "rs_bg"})]
    explicit = render_groups(str(scene), deps, ["rs_fg", "rs_bg"], [], [5, 6], list(range(1, 11)))
    assert [g.frames for g in explicit] == [[5, 6], [5, 6]]
    hip = render_groups("/show/a.hip", deps, ["/out/beauty", "/out/mask"], [], None, [1])
    assert [g.options for g in hip] == [{"rop": "/out/beauty"}, {"rop": "/out/mask"}]  # Houdini: one group per ROP
    cfg = _cfg(tmp_path, tmp_path / "log")
    result = submit_scene(str(scene), SubmitOptions(renderer="generic", place={"render": "local"}, dry_run=True,
                                                    layers=["rs_fg", "rs_bg"], chunk=100), cfg, dependencies=deps)
    plan = json.loads((Path(result.bundle) / "job.json").read_text(encoding="utf-8"))["plan"]
    assert [(n["group"], n["frames"][0], n["frames"][-1]) for n in plan["nodes"]] == [("rs_fg", 1, 10),
                                                                                   ("rs_bg", 101, 104)]
    assert plan["frames_spec"] == "1-10,101-104"


def test_group_labels_must_stay_distinct_as_node_names(tmp_path):
    cfg = _cfg(tmp_path, tmp_path / "log")
    with pytest.raises(ConfigError, match="same node name"):
        make_plan(str(tmp_path / "a.ma"), [1], cfg, renderer="generic",
                  groups=[RenderGroup("fg-1", [1], {"layer": "fg-1"}), RenderGroup("fg_1", [1], {"layer": "fg_1"})])
    with pytest.raises(ConfigError, match="needs layer"):  # a group without the token the template needs
        make_plan(str(tmp_path / "a.ma"), [1], cfg, renderer="generic",
                  groups=[RenderGroup("cam", [1], {"camera": "c"})])


def test_submit_scans_every_frame_the_layers_render_not_only_the_scenes_range(cli, tmp_path):
    """`submit --layer A --layer B` on the real render setup scene: the layers render 20-30 and
    1-20 while the scene says 1-10, so the file list must be made for 1-30. Plates 11-25 are sent,
    the missing 26-30 are refused (they were neither sent nor reported when only 1-10 was scanned)."""
    shot = tmp_path / "shot"
    scene = real_layers_with_plate(shot)
    plates(shot, range(1, 26))
    common = ["--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "--set", 'jobs.generic_command=["true"]',
              "submit", str(scene), "--layer", "rs_renderSetupLayer2", "--layer", "rs_renderSetupLayer4",
              "--renderer", "generic", "--dry-run", "--bundle-dir", str(tmp_path / "b")]
    res = cli(*common)
    assert res.returncode == 2 and "6 needed files missing" in res.stderr, res.stderr  # D:/ reference + 26-30
    res = cli(*common, "--allow-missing", "--json")
    assert res.returncode == 0, res.stderr
    bundle = Path(json.loads(res.stdout)["bundle"])
    sent = json.loads((bundle / "input_paths.json").read_text(encoding="utf-8"))["files"]
    assert sorted(p for p in sent if "/plates/" in p) == [(shot / "plates" / f"bg.{f:04d}.exr").as_posix()
                                                          for f in range(1, 26)]
    plan = json.loads((bundle / "job.json").read_text(encoding="utf-8"))["plan"]
    assert plan["frames_spec"] == "1-30"
