"""A pool submit whose cloud stages need this workstation's own paths is refused before anything is
written, saying what to set; a dry run warns; `jobs.cloud_check` warn/off lets it through."""
from __future__ import annotations

import json

SCENE = '//Maya ASCII 2023 scene\nrequires maya "2023";\ncreateNode transform -n "persp";\n'


def _scene(tmp_path):
    shot = tmp_path / "shot"
    shot.mkdir()
    scene = shot / "a.ma"
    scene.write_text(SCENE, encoding="utf-8")
    return scene


def test_default_launcher_and_store_are_refused_for_cloud_renders(cli, tmp_path):
    scene = _scene(tmp_path)
    res = cli("--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "submit", str(scene), "--frames", "1-2",
              "--scheduler", "htcondor")
    assert res.returncode == 2, res.stderr
    line = res.stderr.strip().splitlines()[-1]
    assert "cannot run on cloud nodes" in line and "jobs.launcher" in line and "doctor" in line, line
    assert not (scene.parent / "cloudsubmit").exists()  # nothing written
    res = cli("--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "--set", "jobs.launcher=[/opt/cs/bin/python, -m, cloudsubmit]",
              "submit", str(scene), "--frames", "1-2", "--scheduler", "htcondor")
    assert res.returncode == 2 and "store.url" in res.stderr and "jobs.launcher" not in res.stderr, res.stderr


def test_dry_run_and_warn_mode_only_warn(cli, tmp_path):
    scene = _scene(tmp_path)
    res = cli("--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "submit", str(scene), "--frames", "1-2",
              "--scheduler", "htcondor", "--dry-run", "--json")
    assert res.returncode == 0, res.stderr
    warnings = json.loads(res.stdout)["warnings"]
    assert [w for w in warnings if "jobs.launcher" in w] and [w for w in warnings if "store.url" in w], warnings
    res = cli("--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "--set", "jobs.cloud_check=ignore", "submit", str(scene),
              "--frames", "1-2", "--scheduler", "htcondor", "--dry-run", "--json")
    assert res.returncode == 0 and not json.loads(res.stdout)["warnings"], res.stdout


def test_local_placement_needs_no_cloud_setup(cli, tmp_path):
    scene = _scene(tmp_path)
    res = cli("--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "submit", str(scene), "--frames", "1-2",
              "--scheduler", "htcondor", "--place", "render=local", "--dry-run", "--json")
    assert res.returncode == 0 and not json.loads(res.stdout)["warnings"], res.stdout


def test_a_node_refuses_a_job_written_in_a_format_it_does_not_know(cli, tmp_path):
    scene = _scene(tmp_path)
    res = cli("--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "submit", str(scene), "--frames", "1-2",
              "--scheduler", "htcondor", "--place", "render=local", "--dry-run", "--json")
    bundle = json.loads(res.stdout)["bundle"]
    job_file = tmp_path / "shot" / "cloudsubmit" / "jobs" / json.loads(res.stdout)["job_id"] / "job.json"
    job = json.loads(job_file.read_text(encoding="utf-8"))
    assert job["version"] == 1 and job["written_by"].startswith("cloudsubmit ")
    job.update(version=2, written_by="cloudsubmit 9.0")
    job_file.write_text(json.dumps(job), encoding="utf-8")
    res = cli("stage", "render", bundle, "--node", "render_0001")
    assert res.returncode == 3, res.stderr  # failed for good: DAGMan does not retry it
    line = res.stderr.strip().splitlines()[-1]
    assert "job format 2 (written by cloudsubmit 9.0)" in line and "reads format 1" in line, line
