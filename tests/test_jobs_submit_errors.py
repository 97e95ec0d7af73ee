"""A submission the pool cannot take fails in one line and leaves nothing behind: no bundle an
artist has to clean up, no half-submitted job in `cloudsubmit jobs`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cloudsubmit.config import load_config
from cloudsubmit.jobs.bundle import write_bundle
from cloudsubmit.jobs.plan import make_plan

SCENE = '//Maya ASCII 2023 scene\nrequires maya "2023";\ncreateNode transform -n "persp";\n'


@pytest.fixture
def shot_outside_tmp(outside_tmp):
    """DAGMan refuses /tmp, and pytest's tmp_path lives there: a shot outside it instead."""
    shot = outside_tmp / "shot 010"
    shot.mkdir(parents=True)
    (shot / "shot.ma").write_text(SCENE, encoding="utf-8")
    return shot


def _no_condor_env(tmp_path: Path) -> dict:
    empty = tmp_path / "bin"
    empty.mkdir()
    return {"PATH": str(empty)}


def _one_line(res, code: int) -> None:
    assert res.returncode == code, res.stderr
    assert res.stderr.startswith("cloudsubmit: error: ") and res.stderr.count("\n") == 1
    assert "Traceback" not in res.stderr


def test_no_pool_is_one_line_exit_1_and_leaves_no_bundle(cli, tmp_path, shot_outside_tmp):
    registry = tmp_path / "jobs.jsonl"
    res = cli("--set", f"jobs.registry={registry}", "submit", str(shot_outside_tmp / "shot.ma"), "--frames", "1-4",
              "--place", "render=local", "--scheduler", "htcondor", "--json", env=_no_condor_env(tmp_path))
    _one_line(res, 1)
    assert "no HTCondor here" in res.stderr and "--scheduler local" in res.stderr
    # under --json a script reading stdout gets the same error as one object, and nothing else
    assert json.loads(res.stdout) == {"error": res.stderr.strip()[len("cloudsubmit: error: "):], "exit_code": 1}
    jobs = shot_outside_tmp / "cloudsubmit" / "jobs"
    assert not jobs.exists() or list(jobs.iterdir()) == []
    assert not registry.exists() or registry.read_text() == ""


def test_a_pool_bundle_under_tmp_is_refused_before_anything_is_written(cli, tmp_path):
    scene = tmp_path / "shot.ma"
    scene.write_text(SCENE, encoding="utf-8")
    bundle = tmp_path / "bundle"
    res = cli("submit", str(scene), "--frames", "1-4", "--place", "render=local", "--scheduler", "htcondor",
              "--bundle-dir", str(bundle), env=_no_condor_env(tmp_path))
    _one_line(res, 2)
    assert str(bundle) in res.stderr and "/tmp" in res.stderr
    assert not bundle.exists() and not any(p.name.startswith(".bundle") for p in tmp_path.iterdir())


def test_a_dry_run_may_still_go_under_tmp(cli, tmp_path):
    """Writing a bundle to look at it is harmless; only handing it to DAGMan is refused."""
    scene = tmp_path / "shot.ma"
    scene.write_text(SCENE, encoding="utf-8")
    res = cli("submit", str(scene), "--frames", "1-4", "--place", "render=local", "--scheduler", "htcondor",
              "--bundle-dir", str(tmp_path / "bundle"), "--dry-run", "--json")
    assert res.returncode == 0, res.stderr
    assert Path(json.loads(res.stdout)["dag"]).is_file()


def test_a_failed_local_run_names_the_nodes_and_the_logs(cli, tmp_path):
    """`resubmit --scheduler local` used to print "resubmitted <id>" and exit 1 with no word on
    what went wrong; now stderr has one line with the failed nodes and the log folder."""
    scene = tmp_path / "shot" / "s.ma"
    scene.parent.mkdir()
    scene.write_text(SCENE, encoding="utf-8")
    cfg = load_config(user_file=str(tmp_path / "n.yaml"), overrides={
        "jobs.generic_command": [sys.executable, "-c", "import sys; sys.exit(1)"], "jobs.retry.render": 0})
    plan = make_plan(str(scene), [1, 2], cfg, place={"render": "local"}, renderer="generic", chunk=1)
    bundle = write_bundle(plan, cfg).path
    res = cli("--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "resubmit", str(bundle), "--scheduler", "local")
    _one_line(res, 1)
    assert "render_0001, render_0002 failed" in res.stderr and str(bundle / "logs") in res.stderr
    assert res.stdout.strip() == f"resubmitted {plan.job_id} (ran locally: failed)"
    res = cli("--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "resubmit", str(bundle), "--scheduler", "local",
              "--json")
    _one_line(res, 1)
    assert json.loads(res.stdout)["local"]["failed"] == ["render_0001", "render_0002"]
    # A script waiting on the job sees the failure in the exit code, and a finished job exits 0.
    status = cli("--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "status", str(bundle), "--json")
    assert status.returncode == 1 and json.loads(status.stdout)["state"] == "failed"
