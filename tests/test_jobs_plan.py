"""JobPlan: pure data, no HTCondor."""
from __future__ import annotations

import re

import pytest

from cloudsubmit.config import load_config
from cloudsubmit.errors import ConfigError
from cloudsubmit.jobs.plan import JobPlan, make_job_id, make_plan, parse_place
from cloudsubmit.jobs.tables import expand_command, pool_profile, renderer_for


@pytest.fixture
def cfg(tmp_path):
    return load_config(user_file=str(tmp_path / "none.yaml"))


def test_cloud_render_gets_upload_and_download_around_chunks(cfg):
    plan = make_plan("/gs/shot/a.ma", range(1, 26), cfg, chunk=10)
    names = [n.name for n in plan.nodes]
    assert names == ["upload", "render_0001", "render_0002", "render_0003", "download"]
    assert [n.frames for n in plan.render_nodes] == [list(range(1, 11)), list(range(11, 21)), list(range(21, 26))]
    assert all(n.parents == ["upload"] for n in plan.render_nodes)
    assert plan.node("download").parents == ["render_0001", "render_0002", "render_0003"]
    assert plan.node("upload").place == "local" and plan.render_nodes[0].place == "cloud"
    assert plan.renderer == "maya"


def test_local_render_has_no_transfers_and_post_stages_chain(cfg):
    post = [{"name": "comp", "place": "local", "command": ["nuke", "-x", "comp.nk"]},
            {"name": "mail", "command": ["true"]}]
    plan = make_plan("/gs/shot/a.hip", [1, 2, 3], cfg, place={"render": "local"}, post=post)
    assert [n.name for n in plan.nodes] == ["render_0001", "post_comp", "post_mail"]
    assert plan.node("post_comp").parents == ["render_0001"]
    assert plan.node("post_mail").parents == ["post_comp"]
    assert plan.renderer == "houdini"


def test_scout_frames_render_first_and_gate_the_rest(cfg):
    plan = make_plan("/gs/a.ma", range(1, 101), cfg, chunk=10, scout=True)
    scouts = [n for n in plan.render_nodes if n.scout]
    assert [n.frames for n in scouts] == [[1], [51], [100]]
    rest = [n for n in plan.render_nodes if not n.scout]
    covered = sorted(f for n in rest for f in n.frames)
    assert covered == [f for f in range(1, 101) if f not in (1, 51, 100)]
    assert all(n.parents == [s.name for s in scouts] for n in rest)
    assert all(s.parents == ["upload"] for s in scouts)


def test_job_id_is_sortable_unique_and_safe():
    ids = [make_job_id("/gs/シーン 01's \"x\".ma") for _ in range(50)]
    assert len(set(ids)) == 50
    for i in ids:
        assert re.match(r"^\d{8}T\d{6}Z-[A-Za-z0-9_]+-[0-9a-f]{6}$", i), i
    assert make_job_id("/gs/a.ma").split("-")[0] >= ids[0].split("-")[0]


def test_round_trip_through_dict(cfg):
    plan = make_plan("/gs/a.ma", [1, 5, 9], cfg, chunk=2, scout=True)
    again = JobPlan.from_dict(plan.to_dict())
    assert again == plan


@pytest.mark.parametrize("kwargs,match", [
    ({"place": {"render": "moon"}}, "local or cloud"),
    ({"place": {"paint": "local"}}, "unknown stage"),
    ({"chunk": 0}, "at least 1"),
    ({"renderer": "blender"}, "unknown renderer"),
    ({"post": [{"name": "Bad Name", "command": ["x"]}]}, "post"),
    ({"post": [{"name": "ok", "command": "not a list"}]}, "command"),
])
def test_bad_plans_are_config_errors(cfg, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        make_plan("/gs/a.ma", [1, 2], cfg, **kwargs)


def test_unknown_extension_needs_a_renderer(cfg):
    with pytest.raises(ConfigError, match="no renderer"):
        make_plan("/gs/a.blend", [1], cfg)


def test_parse_place():
    assert parse_place(["render=local", " upload = cloud"]) == {"render": "local", "upload": "cloud"}
    with pytest.raises(ConfigError):
        parse_place(["render"])


def test_maya_template_drops_empty_optional_groups(cfg):
    _, spec = renderer_for("/gs/a.ma", "", cfg)
    tokens = dict(scene="/gs/my scene.ma", start="1", end="10", step="1", renderer="arnold", layer="",
                  camera="shotCam", project="/gs/proj", output_dir="/out")
    argv = expand_command(spec["command"], tokens, "maya")
    assert argv == ["Render", "-r", "arnold", "-s", "1", "-e", "10", "-b", "1", "-cam", "shotCam",
                    "-proj", "/gs/proj", "-rd", "/out", "/gs/my scene.ma"]


def test_unknown_template_token_is_a_config_error(cfg):
    with pytest.raises(ConfigError, match="unknown token"):
        expand_command(["x", "{nope}"], {}, "generic")


def test_generic_renderer_uses_the_configured_command(tmp_path):
    cfg = load_config(user_file=str(tmp_path / "n.yaml"),
                      overrides={"jobs.generic_command": ["python3", "rename.py", "{start}", "{end}"]})
    kind, spec = renderer_for("/gs/work/neo/cloudTest/render", "generic", cfg)
    assert kind == "generic" and spec["command"][:2] == ["python3", "rename.py"]


def test_studio_pool_profile_reproduces_the_setup(tmp_path):
    cfg = load_config(user_file=str(tmp_path / "n.yaml"), overrides={"jobs.pool": "studio-annex"})
    local, cloud = pool_profile(cfg, "local"), pool_profile(cfg, "cloud")
    assert 'TARGET.FileSystemDomain == "intra.studio.example"' in local["requirements"]
    assert 'TARGET.FileSystemDomain == "aws.studio.example"' in cloud["requirements"]
    assert cloud["attributes"] == {"MayUseAWS": True}
