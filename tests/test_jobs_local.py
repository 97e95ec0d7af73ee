"""The local runner runs real bundles: each node's command comes from its .sub via htcondor2."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from cloudsubmit.config import load_config
from cloudsubmit.jobs.bundle import write_bundle
from cloudsubmit.jobs.dagfile import rescue_files
from cloudsubmit.jobs.local_runner import expand_submit, _expand_fallback, run_bundle
from cloudsubmit.jobs.plan import make_plan
from cloudsubmit.jobs.status import format_status, job_status

# A stand-in for `cloudsubmit stage ...`: behaviour per node from $FAKE_STAGE_PLAN, a record of
# every attempt (start/end time, argv, cwd, the nodes whose records existed when it started)
# under <bundle>/attempts. A node in a "barrier" group waits until every node of the group has
# started, which only happens if they all run at once: parallelism proven by events, not by clocks.
FAKE = r'''
import json, os, sys, time
argv = sys.argv[1:]
assert argv[0] == "stage", argv
stage, ref, node = argv[1], argv[2], argv[4]
plan = json.load(open(os.environ["FAKE_STAGE_PLAN"]))
log = os.environ["FAKE_STAGE_LOG"]
rec = os.path.join(log, node)
os.makedirs(log, exist_ok=True)
finished = sorted(n for n in os.listdir(log) if not n.startswith("."))
n = sum(1 for _ in open(rec)) if os.path.exists(rec) else 0
start = time.time()
group = plan.get("barrier", {}).get(node)
if group:
    open(os.path.join(log, ".started." + node), "w").close()
    give_up = time.time() + 300   # a safety net for a broken runner, not a measurement
    while not all(os.path.exists(os.path.join(log, ".started." + g)) for g in group):
        if time.time() > give_up:
            print("barrier: the other nodes never started", file=sys.stderr)
            sys.exit(3)
        time.sleep(0.02)
time.sleep(plan.get("sleep", {}).get(node, 0))
codes = plan.get("codes", {}).get(node, [0])
code = codes[min(n, len(codes) - 1)]
with open(rec, "a") as f:
    f.write(json.dumps({"start": start, "end": time.time(), "stage": stage, "ref": ref, "cwd": os.getcwd(),
                        "job": os.environ.get("CLOUDSUBMIT_JOB"), "code": code, "finished": finished}) + "\n")
print("node", node, "attempt", n + 1)
sys.exit(code)
'''


@pytest.fixture
def make_bundle(tmp_path, monkeypatch):
    script = tmp_path / "fake stage.py"
    script.write_text(FAKE)
    log = tmp_path / "attempts"
    monkeypatch.setenv("FAKE_STAGE_LOG", str(log))

    def make(behaviour, frames=range(1, 9), chunk=2, **over):
        plan_file = tmp_path / "behaviour.json"
        plan_file.write_text(json.dumps(behaviour))
        monkeypatch.setenv("FAKE_STAGE_PLAN", str(plan_file))
        overrides = {"jobs.launcher": [sys.executable, str(script)]}
        overrides.update(over)
        cfg = load_config(user_file=str(tmp_path / "none.yaml"), overrides=overrides)
        shot = tmp_path / "shot 01"
        shot.mkdir(exist_ok=True)
        plan = make_plan(str(shot / "scene.ma"), frames, cfg, chunk=chunk)
        return plan, write_bundle(plan, cfg).path

    def attempts(node):
        p = log / node
        return [json.loads(line) for line in p.read_text().splitlines()] if p.exists() else []

    make.attempts = attempts
    return make


def test_three_stages_run_in_order_with_parallel_chunks(make_bundle):
    renders = [f"render_000{i}" for i in range(1, 5)]
    plan, bundle = make_bundle({"barrier": {r: renders for r in renders}})
    result = run_bundle(str(bundle), max_parallel=4)
    assert result.state == "done" and result.exit_code == 0   # the barrier was met: all four ran at once
    up, down = make_bundle.attempts("upload")[0], make_bundle.attempts("download")[0]
    renders = [make_bundle.attempts(r)[0] for r in renders]
    assert up["finished"] == []
    assert all(r["finished"] == ["upload"] for r in renders)          # after upload, beside each other
    assert down["finished"] == sorted(["upload"] + [f"render_000{i}" for i in range(1, 5)])
    assert renders[0]["ref"] == "job.json" and renders[0]["cwd"] == str(bundle)   # cloud profile
    assert up["ref"] == str(bundle) and up["job"] == plan.job_id
    assert (bundle / "logs" / "render_0001.out").read_text().startswith("node render_0001")
    st = job_status(str(bundle))
    assert st.state == "done"
    assert st.stages["render"].to_dict() == {"total": 4, "done": 4, "running": 0, "idle": 0, "held": 0,
                                             "failed": 0, "waiting": 0, "skipped": 0}


def test_flaky_node_succeeds_on_retry(make_bundle):
    plan, bundle = make_bundle({"codes": {"render_0002": [1, 0]}})
    result = run_bundle(str(bundle), max_parallel=2)
    assert result.state == "done"
    assert [a["code"] for a in make_bundle.attempts("render_0002")] == [1, 0]
    assert result.attempts["render_0002"] == 2 and result.attempts["render_0001"] == 1
    assert job_status(str(bundle)).stages["download"].done == 1


def test_upload_failure_aborts_the_dag(make_bundle):
    plan, bundle = make_bundle({"codes": {"upload": [3]}})
    result = run_bundle(str(bundle), max_parallel=2)
    assert result.state == "aborted" and result.exit_code == 1  # ABORT-DAG-ON ... RETURN 1, as DAGMan
    assert len(make_bundle.attempts("upload")) == 1                 # UNLESS-EXIT 3: no retry
    assert make_bundle.attempts("render_0001") == []
    st = job_status(str(bundle))
    assert st.state == "failed"
    assert st.stages["upload"].failed == 1 and st.stages["render"].skipped == 4
    assert "failed" in format_status(st)


def test_exhausted_retries_write_a_rescue_dag_and_resume_skips_done_nodes(make_bundle):
    plan, bundle = make_bundle({"codes": {"render_0003": [1]}}, **{"jobs.retry.render": 1})
    result = run_bundle(str(bundle), max_parallel=2)
    assert result.state == "failed" and result.failed == ["render_0003"]
    assert len(make_bundle.attempts("render_0003")) == 2 and make_bundle.attempts("download") == []
    assert [p.name for p in rescue_files(bundle / "job.dag")] == ["job.dag.rescue001"]
    import htcondor2.dags

    assert htcondor2.dags.find_rescue_file(bundle, "job.dag").name == "job.dag.rescue001"  # DAGMan's naming
    assert job_status(str(bundle)).stages["download"].skipped == 1
    Path(bundle.parent.parent.parent.parent / "behaviour.json").write_text(json.dumps({}))
    again = run_bundle(str(bundle), max_parallel=2)
    assert again.state == "done"
    assert len(make_bundle.attempts("upload")) == 1 and len(make_bundle.attempts("render_0001")) == 1
    assert len(make_bundle.attempts("render_0003")) == 3 and len(make_bundle.attempts("download")) == 1


def test_maxjobs_limits_transfers(make_bundle):
    plan, bundle = make_bundle({"sleep": {f"render_000{i}": 0.3 for i in range(1, 5)}}, **{"jobs.max_renders": 1})
    run_bundle(str(bundle), max_parallel=4)
    spans = sorted((make_bundle.attempts(f"render_000{i}")[0]["start"], make_bundle.attempts(f"render_000{i}")[0]["end"])
                   for i in range(1, 5))
    assert all(b[0] >= a[1] - 0.01 for a, b in zip(spans, spans[1:]))   # one at a time


def test_fallback_expansion_matches_htcondor(make_bundle):
    plan, bundle = make_bundle({})
    text = (bundle / "render.sub").read_text()
    macros = {"node": "render_0001", "JOB": "render_0001", "RETRY": "0"}
    assert _expand_fallback(text, macros) == expand_submit(text, macros)


def test_status_reads_a_dagman_node_status_file(make_bundle):
    plan, bundle = make_bundle({}, frames=range(1, 7))
    ads = ['[ Type = "DagStatus"; DagFiles = { "job.dag" }; Timestamp = 1399674138; DagStatus = 3; NodesTotal = 5; ]',
           '[ Type = "NodeStatus"; Node = "upload"; NodeStatus = 5; StatusDetails = ""; RetryCount = 0; JobProcsQueued = 0; JobProcsHeld = 0; ]',
           '[ Type = "NodeStatus"; Node = "render_0001"; NodeStatus = 3; StatusDetails = "idle"; RetryCount = 0; JobProcsQueued = 1; JobProcsHeld = 0; ]',
           '[ Type = "NodeStatus"; Node = "render_0002"; NodeStatus = 3; StatusDetails = "held"; RetryCount = 0; JobProcsQueued = 1; JobProcsHeld = 1; ]',
           '[ Type = "NodeStatus"; Node = "render_0003"; NodeStatus = 3; StatusDetails = "running"; RetryCount = 1; JobProcsQueued = 1; JobProcsHeld = 0; ]',
           '[ Type = "NodeStatus"; Node = "download"; NodeStatus = 0; StatusDetails = ""; RetryCount = 0; JobProcsQueued = 0; JobProcsHeld = 0; ]',
           '[ Type = "StatusEnd"; EndTime = 1399674138; NextUpdate = 1399674141; ]']
    (bundle / "node_status.txt").write_text("\n".join(ads) + "\n")
    st = job_status(str(bundle))
    assert st.state == "running" and st.updated == 1399674138
    assert st.stages["render"].to_dict() == {"total": 3, "done": 0, "running": 1, "idle": 1, "held": 1,
                                             "failed": 0, "waiting": 0, "skipped": 0}
    assert st.stages["upload"].done == 1 and st.stages["download"].waiting == 1


def test_status_from_jobstate_log_when_no_status_file(make_bundle):
    plan, bundle = make_bundle({}, frames=range(1, 5))
    (bundle / "jobstate.log").write_text(
        "1 upload SUBMIT 1.0 - local - 1\n2 upload EXECUTE 1.0 - local\n3 upload JOB_SUCCESS 0\n"
        "4 render_0001 SUBMIT 2.0 - local - 1\n5 render_0001 EXECUTE 2.0 - local\n"
        "6 render_0002 SUBMIT 3.0 - local - 1\n7 render_0002 JOB_HELD 3.0\n")
    st = job_status(str(bundle))
    assert st.stages["upload"].done == 1
    assert st.stages["render"].running == 1 and st.stages["render"].held == 1
    assert st.stages["download"].waiting == 1


def test_cancel_stops_running_nodes_and_leaves_a_rescue_dag(make_bundle):
    from cloudsubmit.errors import Cancelled

    plan, bundle = make_bundle({"sleep": {f"render_000{i}": 20 for i in range(1, 5)}})
    seen = []

    def progress(rep):
        seen.append(rep.done)
        return rep.done < 1 or len(seen) < 4   # upload done, renders running: stop

    start = time.time()
    with pytest.raises(Cancelled, match="rescue"):
        run_bundle(str(bundle), max_parallel=4, progress=progress)
    assert time.time() - start < 10
    assert [p.name for p in rescue_files(bundle / "job.dag")] == ["job.dag.rescue001"]
    assert "DONE upload" in (bundle / "job.dag.rescue001").read_text()


def test_half_written_status_file_falls_back_to_the_jobstate_log(make_bundle):
    plan, bundle = make_bundle({}, frames=range(1, 3))
    (bundle / "node_status.txt").write_text('[\n  Type = "DagStatus";\n  DagStatus = ')
    (bundle / "jobstate.log").write_text("1 upload SUBMIT 1.0 - local - 1\n2 upload JOB_SUCCESS 0\n")
    st = job_status(str(bundle))
    assert st.source.endswith("jobstate.log") and st.stages["upload"].done == 1


def test_a_failure_with_retries_left_read_mid_write_is_not_a_failed_job(make_bundle):
    plan, bundle = make_bundle({}, frames=range(1, 3))
    retries = plan.node("render_0001").retry
    assert retries >= 1
    (bundle / "node_status.txt").write_text('[\n  Type = "DagStatus";\n  DagStatus = ')  # caught mid-write
    log = ("1 upload SUBMIT 1.0 - local - 1\n2 upload JOB_SUCCESS 0\n3 render_0001 SUBMIT 2.0 - local - 1\n"
           "4 render_0001 JOB_FAILURE 1 2.0 - local - 1\n")
    (bundle / "jobstate.log").write_text(log)
    st = job_status(str(bundle))
    assert st.state == "running" and st.stages["render"].failed == 0 and st.problems == []
    fails = "".join(f"{5 + i} render_0001 JOB_FAILURE 1 {3 + i}.0 - local - 1\n" for i in range(retries))
    (bundle / "jobstate.log").write_text(log + fails)  # every retry used up: now it failed
    st = job_status(str(bundle))
    assert st.state == "failed" and [(p.node, p.exit_code) for p in st.problems] == [("render_0001", 1)]
    assert st.problems[0].log.endswith("render_0001.err")


def test_status_fallback_parser_agrees_with_classad2(make_bundle):
    from cloudsubmit.jobs.status import _parse_ads, _parse_ads_fallback

    plan, bundle = make_bundle({"codes": {"render_0002": [1]}}, frames=range(1, 5), **{"jobs.retry.render": 0})
    run_bundle(str(bundle))
    text = (bundle / "node_status.txt").read_text()
    one_line = '[ Type = "NodeStatus"; Node = "a"; NodeStatus = 3; StatusDetails = "idle"; JobProcsHeld = 0; ]\n'
    for sample in (text, one_line):
        assert _parse_ads_fallback(sample) == _parse_ads(sample)


def test_a_failed_node_is_explained_in_status_and_in_the_panel_lines(make_bundle, tmp_path):
    from cloudsubmit.ui.corecalls import status

    plan, bundle = make_bundle({"codes": {"render_0003": [1]}}, **{"jobs.retry.render": 0})
    assert run_bundle(str(bundle), max_parallel=2).state == "failed"
    st = job_status(str(bundle))
    (problem,) = st.problems
    assert (problem.node, problem.stage, problem.state, problem.exit_code) == ("render_0003", "render", "failed", 1)
    assert problem.log == str(bundle / "logs" / "render_0003.err") and problem.reason
    assert st.to_dict()["problems"] == [problem.to_dict()]
    assert problem.line() in format_status(st)
    stages = {s.stage: s for s in status(str(bundle), load_config(user_file=str(tmp_path / "none.yaml")))}
    assert stages["render"].detail == problem.line() and stages["upload"].detail == ""
