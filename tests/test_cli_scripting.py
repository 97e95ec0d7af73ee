"""The CLI a TD scripts against: errors as JSON under --json, flags after the sub-command,
did-you-mean for a typo, frame specs in our own words, one check for a scene that is a folder."""
from __future__ import annotations

import json

import pytest

SCENE = '//Maya ASCII 2024 scene\nrequires maya "2024";\ncreateNode transform -n "a";\n'


@pytest.fixture
def scene(tmp_path):
    path = tmp_path / "shot" / "a.ma"
    path.parent.mkdir()
    path.write_text(SCENE, encoding="utf-8")
    return path


def _error_doc(res, code: int) -> dict:
    assert res.returncode == code, res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    doc = json.loads(res.stdout)
    assert doc["exit_code"] == code and doc["error"] in res.stderr
    return doc


def test_errors_under_json_are_one_object_on_stdout(cli, tmp_path):
    studio = tmp_path / "studio.yaml"
    studio.write_text("jobs:\n  place: {render: gpu}\n", encoding="utf-8")
    doc = _error_doc(cli("--config", str(studio), "config", "--json"), 2)
    assert doc["key"] == "jobs.place.render" and doc["file"] == str(studio)
    doc = _error_doc(cli("scan", str(tmp_path / "nope.ma"), "--json"), 2)
    assert "no such scene file" in doc["error"]
    doc = _error_doc(cli("scan", "--json"), 2)  # a usage error is a document too
    assert "--help" in doc["error"]


def test_set_and_config_work_after_the_sub_command(cli, tmp_path):
    studio = tmp_path / "studio.yaml"
    studio.write_text("jobs:\n  chunk: 7\n", encoding="utf-8")
    out = json.loads(cli("config", "--config", str(studio), "--set", "jobs.scout=true", "--json").stdout)
    assert out["config"]["jobs"]["chunk"] == 7 and out["config"]["jobs"]["scout"] is True
    both = json.loads(cli("--set", "jobs.chunk=3", "config", "--set", "jobs.max_renders=2", "--json").stdout)
    assert both["config"]["jobs"]["chunk"] == 3 and both["config"]["jobs"]["max_renders"] == 2
    later = json.loads(cli("--set", "jobs.chunk=3", "config", "--set", "jobs.chunk=4", "--json").stdout)
    assert later["config"]["jobs"]["chunk"] == 4  # the flag after the sub-command wins
    assert cli("index", "verify", "--set", "jobs.chunk=x", "--json").returncode == 2  # nested sub-commands too


def test_a_typod_flag_suggests_the_right_one_and_the_sub_commands_help(cli, scene):
    res = cli("submit", str(scene), "--frmes", "1-3")
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "did you mean --frames?" in res.stderr and "cloudsubmit submit --help" in res.stderr
    res = cli("index", "verify", "--dep")
    assert "did you mean --deep?" in res.stderr and "cloudsubmit index verify --help" in res.stderr


def test_version(cli):
    from cloudsubmit import __version__

    res = cli("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"cloudsubmit {__version__}"


@pytest.mark.parametrize("spec,words", [
    ("x-y", "'x-y' is not a frame or a range; give frames like 1-100"),
    ("10-1", "10-1 counts down; write 1-10"),
    ("1-10000000", "more than 100000 frames"),
    ("1,,3", "an empty item between commas"),
    ("1.5", "whole frames only"),
])
def test_frame_spec_errors_are_in_our_words(cli, scene, spec, words):
    res = cli("scan", str(scene), "--frames", spec)
    assert res.returncode == 2 and words in res.stderr and "did not match" not in res.stderr, res.stderr
    assert res.stderr.count("\n") == 1


@pytest.mark.parametrize("command", ["scan", "resolve", "upload", "submit", "panel"])
def test_a_folder_as_the_scene_is_refused_by_every_command(cli, tmp_path, command):
    folder = tmp_path / "shot"
    folder.mkdir()
    store = tmp_path / "store"
    store.mkdir()
    extra = ["--store", "file://" + store.as_posix()] if command in ("resolve", "upload") else []
    extra += ["--dry-run", "--frames", "1"] if command == "submit" else []
    res = cli(command, str(folder), *extra)
    assert res.returncode == 2 and res.stderr.strip() == f"cloudsubmit: error: {folder}: is a folder, not a scene file"
    assert not (folder / "cloudsubmit").exists()
