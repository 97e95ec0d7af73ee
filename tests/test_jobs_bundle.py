"""Bundles on disk: every .sub parsed by htcondor2, the DAG read line by line, hostile paths."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

htcondor2 = pytest.importorskip("htcondor2")
classad2 = pytest.importorskip("classad2")

from cloudsubmit.config import load_config  # noqa: E402
from cloudsubmit.errors import Cancelled, ConfigError, SubmitError  # noqa: E402
from cloudsubmit.jobs import condor  # noqa: E402
from cloudsubmit.jobs.bundle import launcher, write_bundle  # noqa: E402
from cloudsubmit.jobs.dagfile import read_dag  # noqa: E402
from cloudsubmit.jobs.plan import make_plan  # noqa: E402

HOSTILE_DIRS = [
    "plain",
    "with space",
    'dq"uote',
    "sq'uote",
    "macro$(Cluster)",
    "env$ENV(HOME)x",
    "#hash",
    "日本語 シーン",
    "semi;colon=eq",
]
DAG_LINE = re.compile(
    r"^(#.*|JOB [A-Za-z0-9_-]+ [a-z_]+\.sub|VARS [A-Za-z0-9_-]+ node=\"[A-Za-z0-9_-]+\"|"
    r"RETRY [A-Za-z0-9_-]+ \d+ UNLESS-EXIT 3|CATEGORY [A-Za-z0-9_-]+ (transfer|render|post)|"
    r"ABORT-DAG-ON upload 3 RETURN 1|PARENT [A-Za-z0-9_ -]+ CHILD [A-Za-z0-9_ -]+|MAXJOBS \w+ \d+|"
    r"NODE_STATUS_FILE node_status\.txt \d+|JOBSTATE_LOG jobstate\.log|DOT job\.dot)$"
)


@pytest.fixture
def cfg(tmp_path):
    return load_config(user_file=str(tmp_path / "none.yaml"), overrides={"jobs.dot": True, "jobs.max_renders": 20})


def _node_args(bundle: Path, node) -> list:
    sub = htcondor2.Submit((bundle / node.submit).read_text(encoding="utf-8"))
    for k, v in node.vars.items():
        sub[k] = v
    return condor.split_arguments(sub.expand("arguments")), sub


@pytest.mark.parametrize("dirname", HOSTILE_DIRS)
def test_every_sub_parses_and_expands_to_the_intended_argv(tmp_path, cfg, dirname):
    shot = tmp_path / dirname
    shot.mkdir()
    scene = shot / f"{dirname}.ma"
    plan = make_plan(str(scene), range(1, 31), cfg, chunk=10, scout=True,
                     post=[{"name": "comp", "command": ["nuke", "-x", str(shot / "comp.nk")]}])
    # default: beside the scene, or beside the nearest folder DAGMan reads literally ("$(" is not)
    beside = shot if condor.dagman_reads_literally(str(shot)) else tmp_path
    assert write_bundle(plan, cfg).path == beside / "cloudsubmit" / "jobs" / plan.job_id
    bundle = write_bundle(plan, cfg, str(shot / "b")).path  # .sub values still escape the folder
    dag = read_dag(bundle / "job.dag")
    assert set(dag.nodes) == {n.name for n in plan.nodes}
    prefix = launcher(cfg)
    for node in dag.nodes.values():
        stage = plan.node(node.name).stage
        args, sub = _node_args(bundle, node)
        ref = "job.json" if plan.node(node.name).place == "cloud" else str(bundle)
        assert [sub.expand("executable")] + args == prefix + ["stage", stage, ref, "--node", node.name]
        assert sub.expand("initialdir") == str(bundle)
        assert sub.expand("output") == str(bundle / "logs" / f"{node.name}.out")
        assert classad2.ExprTree(sub.expand("MY.CloudSubmitScene")).eval() == str(scene)
        assert condor.split_environment(sub.expand("environment"))["CLOUDSUBMIT_JOB"] == plan.job_id


def test_dag_text_line_by_line(tmp_path, cfg):
    plan = make_plan(str(tmp_path / "a.ma"), range(1, 101), cfg, chunk=10, scout=True)
    bundle = write_bundle(plan, cfg).path
    lines = (bundle / "job.dag").read_text(encoding="utf-8").splitlines()
    for line in lines:
        assert DAG_LINE.match(line), line
    assert "MAXJOBS transfer 4" in lines and "MAXJOBS render 20" in lines
    assert "ABORT-DAG-ON upload 3 RETURN 1" in lines
    dag = read_dag(bundle / "job.dag")
    assert dag.nodes["download"].parents == [n.name for n in plan.render_nodes]
    assert dag.nodes["upload"].category == "transfer" and dag.nodes["render_0001"].retry == 2
    assert dag.status_file == "node_status.txt" and dag.jobstate_log == "jobstate.log"


def test_studio_setup_placement_in_submit_files(tmp_path):
    cfg = load_config(user_file=str(tmp_path / "n.yaml"), overrides={"jobs.pool": "studio-annex"})
    plan = make_plan(str(tmp_path / "a.ma"), [1, 2], cfg)
    bundle = write_bundle(plan, cfg).path
    up = htcondor2.Submit((bundle / "upload.sub").read_text())
    render = htcondor2.Submit((bundle / "render.sub").read_text())
    assert 'FileSystemDomain == "intra.studio.example"' in up["requirements"]
    assert up["should_transfer_files"] == "NO"
    assert 'FileSystemDomain == "aws.studio.example"' in render["requirements"]
    assert render["MY.MayUseAWS"] == "true"
    # Relative to initialdir (the bundle), so a bundle path with spaces cannot split the list.
    assert render["transfer_input_files"] == "job.json, config.json"
    assert render["initialdir"] == str(bundle)
    assert all((Path(render["initialdir"]) / name.strip()).is_file()
               for name in render["transfer_input_files"].split(","))
    assert up["should_transfer_files"] == "NO" and "transfer_input_files" not in up


def test_newline_in_scene_path_is_refused_and_nothing_written(tmp_path, cfg):
    shot = tmp_path / "shot"
    shot.mkdir()
    plan = make_plan(str(shot / "evil\nqueue 5.ma"), [1], cfg)
    with pytest.raises(SubmitError, match="control character") as info:
        write_bundle(plan, cfg)
    assert "\n" not in info.value.message
    assert not (shot / "cloudsubmit").exists() or not any((shot / "cloudsubmit" / "jobs").iterdir())


def test_cancel_mid_write_leaves_nothing(tmp_path, cfg):
    plan = make_plan(str(tmp_path / "a.ma"), [1, 2], cfg)
    calls = []

    def progress(rep):
        calls.append(rep.message)
        return len(calls) < 3

    with pytest.raises(Cancelled):
        write_bundle(plan, cfg, str(tmp_path / "b"), progress=progress)
    assert not (tmp_path / "b").exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_existing_bundle_is_not_overwritten(tmp_path, cfg):
    plan = make_plan(str(tmp_path / "a.ma"), [1], cfg)
    write_bundle(plan, cfg, str(tmp_path / "b"))
    with pytest.raises(SubmitError, match="already exists"):
        write_bundle(plan, cfg, str(tmp_path / "b"))


def test_bundle_files_and_no_credentials(tmp_path):
    cfg = load_config(user_file=str(tmp_path / "n.yaml"),
                      overrides={"jobs.render_options.aws_secret_access_key": "AKIASECRET", "store.url": "file:///x"})
    plan = make_plan(str(tmp_path / "a.ma"), [1, 2, 3], cfg)
    bundle = write_bundle(plan, cfg, str(tmp_path / "b"), store_url="file:///x", manifest={"files": []}).path
    names = sorted(p.name for p in bundle.iterdir())
    assert names == ["config.json", "download.sub", "input_paths.json", "job.dag", "job.json", "logs",
                     "render.sub", "summary.txt", "upload.sub"]
    job = json.loads((bundle / "job.json").read_text())
    assert job["job_id"] == plan.job_id and job["inputs_manifest"] == f"jobs/{plan.job_id}/inputs.json"
    text = "".join(p.read_text() for p in bundle.iterdir() if p.is_file())
    assert "AKIASECRET" not in text and "aws_secret_access_key" not in text
    assert plan.job_id in (bundle / "summary.txt").read_text()


def test_bundle_root_setting_and_unwritable_root(tmp_path):
    root = tmp_path / "jobs root"
    cfg = load_config(user_file=str(tmp_path / "n.yaml"), overrides={"jobs.bundle_root": str(root)})
    plan = make_plan(str(tmp_path / "a.ma"), [1], cfg)
    assert write_bundle(plan, cfg).path == root / plan.job_id
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        with pytest.raises(ConfigError, match="bundle_root"):
            write_bundle(make_plan(str(tmp_path / "a.ma"), [1], cfg), cfg, str(ro / "x" / "b"))


def test_launcher_inside_a_dcc_is_not_the_dcc_binary(tmp_path, monkeypatch):
    cfg = load_config(user_file=str(tmp_path / "n.yaml"))
    assert launcher(cfg, "/usr/bin/python3.9") == ["/usr/bin/python3.9", "-m", "cloudsubmit"]
    assert launcher(cfg, "/usr/autodesk/maya2023/bin/mayapy")[1:] == ["-m", "cloudsubmit"]
    script = tmp_path / "bin" / "cloudsubmit"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(script.parent))
    assert launcher(cfg, "/usr/autodesk/maya2023/bin/maya.bin") == [str(script)]
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="jobs.launcher"):
        launcher(cfg, "/opt/hfs20.5/bin/houdini-bin")
    custom = load_config(user_file=str(tmp_path / "n.yaml"), overrides={"jobs.launcher": ["/gs/tools/cs"]})
    assert launcher(custom, "/opt/hfs/bin/houdini-bin") == ["/gs/tools/cs"]
