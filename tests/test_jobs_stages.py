"""Stages run by real DAG nodes through the local runner; the CLI around jobs."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from cloudsubmit.config import load_config
from cloudsubmit.jobs.bundle import write_bundle
from cloudsubmit.jobs.local_runner import run_bundle
from cloudsubmit.jobs.plan import make_plan
from cloudsubmit.stages.render import commands, frame_runs, host_mapping, mel_string

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _repo_on_path(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def test_frame_runs_cover_chunks_exactly():
    assert frame_runs([1, 2, 3, 4]) == [(1, 4, 1)]
    assert frame_runs([1, 3, 5, 6]) == [(1, 5, 2), (6, 6, 1)]
    assert frame_runs([47, 48, 49, 50, 52, 53]) == [(47, 50, 1), (52, 53, 1)]
    assert frame_runs([7]) == [(7, 7, 1)]


def test_local_render_with_the_demo_renderer_writes_images(tmp_path):
    shot = tmp_path / "shot 'A' $(x)"
    shot.mkdir()
    scene = shot / "scene.ma"
    scene.write_text("//Maya ASCII 2023 scene\n")
    out = shot / "images"
    cfg = load_config(user_file=str(tmp_path / "n.yaml"), overrides={"jobs.registry": str(tmp_path / "reg.jsonl")})
    plan = make_plan(str(scene), range(1, 8), cfg, chunk=3, place={"render": "local"}, renderer="demo",
                     output_dir=str(out), post=[{"name": "list", "command": [sys.executable, "-c",
                     "import os,sys; open(os.path.join(sys.argv[1], 'done.txt'), 'w').write(sys.argv[2])",
                     "{output_dir}", "{frames}"]}])
    bundle = write_bundle(plan, cfg).path
    result = run_bundle(str(bundle), max_parallel=2)
    assert result.state == "done", (bundle / "logs" / "render_0001.err").read_text()
    assert sorted(p.name for p in out.glob("*.png")) == [f"scene.{f:04d}.png" for f in range(1, 8)]
    assert (out / "scene.0004.png").read_bytes().startswith(b"\x89PNG")
    assert (out / "done.txt").read_text() == "1-7"
    res = json.loads((bundle / "logs" / "render_0002.result.json").read_text())
    assert res["frames"] == "4-6" and res["exit_code"] == 0


def test_render_failure_is_retried_then_reported(tmp_path):
    scene = tmp_path / "shot" / "missing.ma"   # the demo renderer cannot read it: exit 2 -> retry
    cfg = load_config(user_file=str(tmp_path / "n.yaml"), overrides={"jobs.retry.render": 1})
    plan = make_plan(str(scene), [1], cfg, place={"render": "local"}, renderer="demo", output_dir=str(tmp_path / "o"))
    bundle = write_bundle(plan, cfg, str(tmp_path / "bundle")).path
    result = run_bundle(str(bundle))
    assert result.state == "failed" and result.attempts["render_0001"] == 2
    err = (bundle / "logs" / "render_0001.err").read_text()
    assert "cannot read scene" in err and "exited with 2" in err


def test_wrong_node_or_bad_bundle_exits_3_for_abort(tmp_path, cli):
    cfg = load_config(user_file=str(tmp_path / "n.yaml"))
    plan = make_plan(str(tmp_path / "a.ma"), [1], cfg)
    bundle = write_bundle(plan, cfg, str(tmp_path / "b")).path
    res = cli("stage", "render", str(bundle), "--node", "upload")
    assert res.returncode == 3 and "upload is a upload node" in res.stderr
    res = cli("stage", "render", str(tmp_path / "nowhere"), "--node", "render_0001")
    assert res.returncode == 3 and "not a job bundle" in res.stderr


def test_kick_renders_per_frame_with_padded_scene(tmp_path):
    cfg = load_config(user_file=str(tmp_path / "n.yaml"))
    plan = make_plan("/gs/shot/scene.####.ass", [9, 10], cfg, chunk=2)
    from cloudsubmit.jobs.tables import renderer_for
    from cloudsubmit.stages.common import StageContext

    kind, spec = renderer_for(plan.scene, plan.renderer, cfg)
    ctx = StageContext({}, plan, plan.render_nodes[0], None, cfg, tmp_path)
    from cloudsubmit.stages.render import _tokens

    argv = commands(ctx, spec, _tokens(ctx, plan.scene, "/out"))
    assert kind == "kick" and [a[2] for a in argv] == ["/gs/shot/scene.0009.ass", "/gs/shot/scene.0010.ass"]


def test_host_path_mapping_files(tmp_path):
    rules = [("/gs", "/scratch/session/gs"), ('Z:/it\'s "q"', "/x")]
    env = host_mapping("maya", rules, tmp_path)
    mel = (Path(env["MAYA_SCRIPT_PATH"].split(os.pathsep)[0]) / "userSetup.mel").read_text()
    assert 'dirmap -m "/gs" "/scratch/session/gs";' in mel and mel_string('a"b\\') == '"a\\"b\\\\"'
    assert json.loads(host_mapping("houdini", rules, tmp_path)["HOUDINI_PATHMAP"])["/gs"] == "/scratch/session/gs"
    arnold = json.loads(Path(host_mapping("arnold", rules, tmp_path)["ARNOLD_PATHMAP"]).read_text())
    assert arnold["linux"]["/gs"] == "/scratch/session/gs"


def test_cli_status_jobs_and_resubmit_local(tmp_path, cli):
    scene = tmp_path / "shot" / "s.ma"
    scene.parent.mkdir()
    scene.write_text("x")
    reg = str(tmp_path / "reg.jsonl")
    cfg = load_config(user_file=str(tmp_path / "n.yaml"))
    plan = make_plan(str(scene), [1, 2], cfg, place={"render": "local"}, renderer="demo",
                     output_dir=str(tmp_path / "img"))
    bundle = write_bundle(plan, cfg).path
    res = cli("--set", f"jobs.registry={reg}", "status", str(bundle), "--json")
    assert res.returncode == 0 and json.loads(res.stdout)["state"] == "not started"
    res = cli("--set", f"jobs.registry={reg}", "resubmit", str(bundle), "--scheduler", "local", "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["local"]["state"] == "done"
    res = cli("--set", f"jobs.registry={reg}", "status", plan.job_id)
    assert res.returncode == 0 and "done" in res.stdout.splitlines()[0]
    res = cli("--set", f"jobs.registry={reg}", "jobs", "--json")
    rows = json.loads(res.stdout)
    assert [r["job_id"] for r in rows] == [plan.job_id] and rows[0]["state"] == "done"
    res = cli("--set", f"jobs.registry={reg}", "status", "nope")
    assert res.returncode == 2 and res.stderr.count("\n") == 1


def test_htcondor_submit_without_a_pool_is_one_line(tmp_path, cli, outside_tmp):
    cfg = load_config(user_file=str(tmp_path / "n.yaml"))
    work = outside_tmp
    plan = make_plan(str(tmp_path / "a.ma"), [1], cfg)
    bundle = write_bundle(plan, cfg, str(work / plan.job_id)).path
    try:
        res = cli("--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "resubmit", str(bundle), "--scheduler", "htcondor")
    finally:
        shutil.rmtree(bundle)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.count("\n") == 1 and ("HTCondor" in res.stderr or "condor_submit_dag" in res.stderr)
    res = cli("--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "resubmit", str(bundle.parent / "x"))
    assert res.returncode == 2
    tmp_bundle = write_bundle(plan, cfg, str(tmp_path / "b")).path
    res = cli("resubmit", str(tmp_bundle), "--scheduler", "htcondor")
    assert res.returncode == 2 and "/tmp" in res.stderr


def test_condor_submit_dag_fallback_reports_the_cluster(tmp_path, cli, outside_tmp):
    """No schedd for the bindings here: a stand-in condor_submit_dag on PATH gets the bundle's DAG
    from the bundle directory and its cluster id is reported and recorded."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "condor_submit_dag"
    fake.write_text("#!/bin/sh\npwd > \"$FAKE_OUT\"\necho \"$@\" >> \"$FAKE_OUT\"\n"
                    "echo 'Submitting job(s).'\necho '1 job(s) submitted to cluster 4242.'\n")
    fake.chmod(0o755)
    cfg = load_config(user_file=str(tmp_path / "n.yaml"))
    work = outside_tmp
    plan = make_plan(str(tmp_path / "a.ma"), [1, 2], cfg, name="shot 010 v2")
    bundle = write_bundle(plan, cfg, str(work / plan.job_id)).path
    env = {"PATH": str(bin_dir) + os.pathsep + os.environ["PATH"], "FAKE_OUT": str(tmp_path / "out.txt")}
    try:
        res = cli("--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "resubmit", str(bundle), "--scheduler",
                  "htcondor", "--json", env=env)
        assert res.returncode == 0, res.stderr
        out = json.loads(res.stdout)
        assert out["cluster"] == 4242 and out["dag"] == str(bundle / "job.dag")
        cwd, argv = (tmp_path / "out.txt").read_text().splitlines()
        assert cwd == str(bundle) and argv.endswith("job.dag") and "-batch-name shot 010 v2" in argv
        res = cli("--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "jobs", "--json")
        assert json.loads(res.stdout)[0]["cluster"] == 4242
        fake.write_text("#!/bin/sh\necho 'ERROR: no schedd' >&2\nexit 1\n")
        res = cli("resubmit", str(bundle), "--scheduler", "htcondor", env=env)
        assert res.returncode == 1 and "no schedd" in res.stderr and res.stderr.count("\n") == 1
    finally:
        shutil.rmtree(bundle)
