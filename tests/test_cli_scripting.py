"""The CLI a TD scripts against: errors as JSON under --json, flags after the sub-command,
did-you-mean for a typo, frame specs in our own words, one check for a scene that is a folder."""
from __future__ import annotations

import json
import os
from pathlib import Path

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


def test_download_reads_the_jobs_own_store_and_takes_a_bundle(cli, tmp_path):
    """The job was submitted against store A; the config now names store B (another show)."""
    from cloudsubmit.config import load_config
    from cloudsubmit.jobs.bundle import write_bundle
    from cloudsubmit.jobs.plan import make_plan
    from cloudsubmit.jobs.registry import record
    from cloudsubmit.store.local import LocalBackend
    from cloudsubmit.store.manifest import Manifest, output_roots, write_inputs
    from cloudsubmit.store.outputs import upload_outputs

    scene = tmp_path / "shot" / "a.ma"
    scene.parent.mkdir()
    scene.write_text(SCENE, encoding="utf-8")
    store_a, store_b = tmp_path / "a", tmp_path / "b"
    store_b.mkdir()
    url_a = "file://" + store_a.as_posix()
    registry = tmp_path / "jobs.jsonl"
    cfg = load_config(overrides={"jobs.registry": str(registry), "jobs.generic_command": ["true"]}, env={})
    plan = make_plan(str(scene), [1], cfg, renderer="generic")
    bundle = write_bundle(plan, cfg, store_url=url_a).path
    record(cfg, {"job_id": plan.job_id, "bundle": str(bundle), "scene": str(scene)})
    out_dir = tmp_path / "shot" / "images"
    backend = LocalBackend(str(store_a))
    write_inputs(backend, Manifest(job_id=plan.job_id, roots={}, outputs=output_roots([str(out_dir)])))
    out_dir.mkdir()
    (out_dir / "beauty.0001.exr").write_bytes(b"pixels")  # as a render node in the same file system writes it
    upload_outputs(backend, plan.job_id, "render_0001", [str(out_dir)])
    layers = ["--set", f"jobs.registry={registry}", "--set", "store.url=" + "file://" + store_b.as_posix()]
    for ref in (plan.job_id, plan.job_id[:20], str(bundle)):
        dest = tmp_path / f"dest-{len(ref)}"
        res = cli("download", ref, "--dest", str(dest), *layers, "--json")
        assert res.returncode == 0, res.stderr
        assert (dest / "beauty.0001.exr").read_bytes() == b"pixels"
    res = cli("download", "20991231T000000Z-none-000000", *layers)
    assert res.returncode == 2 and "no such job" in res.stderr


def test_bundle_dir_is_a_parent_folder_that_serves_every_submit(cli, scene, tmp_path):
    parent = tmp_path / "bundles"
    parent.mkdir()  # an empty folder made for it, as the /tmp refusal suggests
    common = ("submit", str(scene), "--frames", "1-2", "--place", "render=local", "--scheduler", "local",
              "--dry-run", "--json", "--bundle-dir", str(parent))
    first, second = (json.loads(cli(*common).stdout) for _ in range(2))
    for out in (first, second):
        assert out["bundle"] == str(parent / out["job_id"]) and (parent / out["job_id"] / "job.dag").is_file()
    assert first["job_id"] != second["job_id"]
    assert "DIR/<job id>" in cli("submit", "--help").stdout


def test_a_dry_run_never_contacts_the_store_and_says_what_it_wrote(cli, scene, tmp_path):
    """A dead endpoint (nothing listens on the discard port) used to cost retries and an error."""
    res = cli("submit", str(scene), "--frames", "1-4", "--dry-run", "--json", "--store", "s3://bucket/team",
              "--set", "store.s3.endpoint_url=http://127.0.0.1:9", "--bundle-dir", str(tmp_path / "b"))
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    summary = (tmp_path / "b" / out["job_id"] / "summary.txt").read_text(encoding="utf-8")
    assert "Stages     upload=local, render=cloud, download=local" in summary
    assert "Store      s3://bucket/team" in summary and "(not checked against the store)" in summary
    assert "Written    " in summary and "Submitted" not in summary
    local = json.loads(cli("submit", str(scene), "--frames", "1", "--dry-run", "--json", "--place", "render=local",
                           "--bundle-dir", str(tmp_path / "b")).stdout)
    summary = (tmp_path / "b" / local["job_id"] / "summary.txt").read_text(encoding="utf-8")
    assert "Stages     render=local\n" in summary and "upload" not in summary


@pytest.mark.parametrize("stage", ["upload", "download"])
def test_placements_that_make_no_sense_are_refused(cli, scene, stage):
    res = cli("submit", str(scene), "--frames", "1", "--dry-run", "--place", f"{stage}=cloud")
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert f"--place: jobs.place.{stage}: expected local, got 'cloud' (the {stage} stage" in res.stderr


def test_allow_missing_is_one_name_with_the_old_one_kept(cli, tmp_path):
    tex = tmp_path / "tex.png"
    tex.write_bytes(b"png")
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"files": [str(tex), str(tmp_path / "gone.png")]}), encoding="utf-8")
    store = tmp_path / "store"
    store.mkdir()
    url = "file://" + store.as_posix()
    refused = cli("upload", "--manifest", str(manifest), "--store", url)
    assert refused.returncode == 2 and "--allow-missing uploads the rest" in refused.stderr
    for flag in ("--allow-missing", "--skip-missing"):
        res = cli("upload", "--manifest", str(manifest), "--store", url, flag, "--json")
        assert res.returncode == 0, res.stderr
    assert "--allow-missing, --skip-missing" in cli("submit", "--help").stdout


def test_submit_takes_project_layer_and_camera_as_flags(cli, tmp_path):
    project = tmp_path / "proj"
    (project / "scenes").mkdir(parents=True)
    scene = project / "scenes" / "a.ma"
    scene.write_text(SCENE, encoding="utf-8")
    res = cli("submit", str(scene), "--frames", "1", "--dry-run", "--json", "--place", "render=local",
              "--project", str(project), "--layer", "beauty", "--camera", "shotCam")
    assert res.returncode == 0, res.stderr
    job = json.loads((Path(json.loads(res.stdout)["bundle"]) / "job.json").read_text(encoding="utf-8"))
    options = job["plan"]["render_options"]
    assert (options["layer"], options["camera"], options["project"]) == ("beauty", "shotCam", str(project))
    res = cli("submit", str(scene), "--frames", "1", "--dry-run", "--layer", "a", "--option", "layer=b")
    assert res.returncode == 2 and "--layer a and --option layer=b disagree" in res.stderr
    res = cli("submit", str(scene), "--frames", "1", "--dry-run", "--project", str(tmp_path / "nope"))
    assert res.returncode == 2 and "--project is not a folder" in res.stderr


def test_jobs_has_a_header_and_status_lists_the_candidates_of_a_prefix(cli, scene, tmp_path):
    reg = tmp_path / "r.jsonl"
    ids = []
    for _ in range(2):
        res = cli("--set", f"jobs.registry={reg}", "--set", "jobs.generic_command=[\"true\"]", "submit", str(scene),
                  "--frames", "1", "--renderer", "generic", "--place", "render=local", "--scheduler", "local",
                  "--json", "--name", "same")
        assert res.returncode == 0, res.stderr
        ids.append(json.loads(res.stdout)["job_id"])
    listing = cli("--set", f"jobs.registry={reg}", "jobs").stdout.splitlines()
    assert listing[0].split() == ["JOB", "STATE", "NODES", "WHERE", "SCENE"] and len(listing) == 3
    assert listing[1].startswith(ids[0]) and "done" in listing[1]
    common = os.path.commonprefix(ids)  # at least the year; the same second gives "...-same-"
    res = cli("--set", f"jobs.registry={reg}", "status", common)
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert ids[0] in res.stderr and ids[1] in res.stderr and "give more of the id" in res.stderr


def test_submit_says_where_the_images_land(cli, scene, tmp_path):
    out_dir = tmp_path / "renders"
    common = ["--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "--set", "jobs.generic_command=[\"true\"]", "submit",
              str(scene), "--frames", "1", "--renderer", "generic", "--place", "render=local", "--scheduler",
              "local", "--output-dir", str(out_dir)]
    res = cli(*common)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[-2:] == ["ran locally: done", f"images in: {out_dir}"]
    out = json.loads(cli(*common, "--json").stdout)
    assert out["output_dirs"] == [str(out_dir)]
    dry = cli(*common, "--dry-run")
    assert dry.stdout.splitlines()[-1] == f"images will land in: {out_dir}"
