"""Output folder names are user data: a shot folder with quotes, ``$(``, ``#``, spaces and Japanese,
an output folder whose own name is Japanese or holds a tab, all bring their frames home into that
very folder through the whole chain (scan -> bundle -> store keys -> manifests -> node paths ->
download). The same names run on the real pool in test_pool_real.py."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cloudsubmit.api import SubmitOptions, output_folder, submit_scene
from cloudsubmit.commands.demo import copy_example
from cloudsubmit.config import load_config
from cloudsubmit.jobs.bundle import default_bundle_root
from cloudsubmit.jobs.condor import dagman_reads_literally
from cloudsubmit.store.manifest import check_name, output_root_name, output_roots

REPO = Path(__file__).resolve().parent.parent
HOSTILE_SHOT = "ショット 010 \"final\" $(id) #1 'q'"
NAMES = ["日本語シーン", "出力", "tab\there", "a b", "a_b", "images", ".hidden", "x" * 200, "$(id) #1 'q'"]


@pytest.fixture(autouse=True)
def _repo_on_path(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _config(tmp_path: Path, **extra: str):
    (tmp_path / "store").mkdir(exist_ok=True)
    return load_config(user_file=str(tmp_path / "none.yaml"), overrides={
        "store.url": (tmp_path / "store").as_uri(), "store.hash_cache": str(tmp_path / "cache" / "h.sqlite"),
        "store.transfer.node_cache": str(tmp_path / "node cache"), "jobs.registry": str(tmp_path / "r.jsonl"),
        "jobs.renderer": "demo", **extra})


def _shot(tmp_path: Path, name: str) -> Path:
    """The demo shot copied into ``shows/<name>/``; returns its scene."""
    scene = copy_example(str(tmp_path / "w"))
    target = tmp_path / "shows" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    scene.parent.parent.rename(target)
    return target / scene.relative_to(scene.parent.parent)


def test_root_names_are_plain_distinct_and_stable():
    folders = [f"/shows/{n}" for n in NAMES] + [f"/other/{n}" for n in NAMES]
    names = [output_root_name(f) for f in folders]
    for folder, name in zip(folders, names):
        assert check_name(name, "root") == name and name.isascii(), (folder, name)
        assert output_root_name(folder) == name  # the node computes the same name
    assert output_root_name("/shows/images") == "images" and output_root_name("/s/日本語シーン") == "out"
    roots = output_roots(folders)
    assert sorted(roots.values()) == sorted(folders) and len(set(roots)) == len(folders)


def test_a_folder_that_exists_is_a_name_not_a_token(tmp_path):
    shot = tmp_path / HOSTILE_SHOT
    (shot / "scenes").mkdir(parents=True)
    assert output_folder(str(shot / "images" / "s" / "<RenderLayer>" / "beauty")) == str(shot / "images" / "s")
    assert output_folder(str(tmp_path / "take_#" / "x.exr")) == str(tmp_path)  # not there: a frame token
    assert output_folder(str(tmp_path / "<Scene>" / "x.exr")) == str(tmp_path)


def test_dag_folders_dagman_cannot_read_are_avoided(tmp_path):
    scene = tmp_path / HOSTILE_SHOT / "scenes" / "a.ma"
    assert not dagman_reads_literally(str(scene.parent))
    assert dagman_reads_literally(str(tmp_path / "ショット 010 \"final\" #1 'q'\t"))
    cfg = _config(tmp_path)
    assert default_bundle_root(str(scene), cfg) == tmp_path / "cloudsubmit" / "jobs"
    assert default_bundle_root(str(tmp_path / "日本語" / "a.ma"), cfg) == tmp_path / "日本語" / "cloudsubmit" / "jobs"


def test_frames_land_in_a_hostile_shot_folder(tmp_path):
    scene = _shot(tmp_path, HOSTILE_SHOT)
    result = submit_scene(str(scene), SubmitOptions(frames="1-3", chunk=2, scheduler="local"), _config(tmp_path))
    assert result.local["state"] == "done", result.local
    images = scene.parent.parent / "images"
    got = sorted(p.relative_to(images).as_posix() for p in images.rglob("*.png"))
    assert len(got) == 3 and all(g.startswith("shot010_lighting/") for g in got), got
    # the bundle (a DAG cannot live under "$(id)") goes beside the shot; no frame leaves the shot
    assert sorted(p.name for p in (tmp_path / "shows").iterdir()) == ["cloudsubmit", HOSTILE_SHOT]
    assert Path(result.bundle).parent == tmp_path / "shows" / "cloudsubmit" / "jobs"
    assert not list((tmp_path / "shows" / "cloudsubmit").rglob("*.png"))
    dirs = json.loads((Path(result.bundle) / "job.json").read_text("utf-8"))["output_dirs"]
    assert dirs and all(Path(d).is_relative_to(images / "shot010_lighting") for d in dirs), dirs


@pytest.mark.parametrize("name", ["日本語シーン", "出力", "tab\there", "$(id) #1 'q'"])
def test_frames_land_in_an_output_folder_named_anything(tmp_path, name):
    scene = _shot(tmp_path, "shot")
    out = tmp_path / "shows" / name
    result = submit_scene(str(scene), SubmitOptions(frames="1-2", chunk=1, scheduler="local", output_dir=str(out)),
                          _config(tmp_path))
    assert result.local["state"] == "done", result.local
    assert sorted(p.name for p in out.glob("*.png")) == ["beauty.0001.png", "beauty.0002.png"]  # the scene's prefix
    keys = [p.name for p in (tmp_path / "store" / "jobs" / result.job_id / "outputs").iterdir()]
    assert sorted(keys) == ["render_0001.json", "render_0002.json"]
    manifest = json.loads((tmp_path / "store" / "jobs" / result.job_id / "outputs" / keys[0]).read_text("utf-8"))
    assert list(manifest["roots"].values()) == [str(out)] and list(manifest["roots"])[0].isascii()
