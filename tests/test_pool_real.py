"""Real DAGs on a real HTCondor pool (``shared/htcondor``, see tests/realpool.py): ``cloudsubmit
submit --scheduler htcondor`` as an artist runs it, checked with ``condor_history``: which slot ran
each node, retries, an upload failure stopping the DAG, ``resubmit`` running what the rescue DAG
left, both submit paths, and frames home for folder names DAGMan and the store find hard.

The DAGs of one session run side by side in one pool (a module fixture submits them all, then
waits), so the whole module costs about as long as its slowest DAG plus one resubmit."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Dict, List

import pytest

from cloudsubmit.jobs.status import job_status
from realpool import Pool, PoolUnavailable, find_htcondor

EXAMPLE = Path(__file__).resolve().parent.parent / "cloudsubmit" / "examples" / "demo_shot"
SCENE = "scenes/shot010_lighting.ma"
HOSTILE_SHOT = "ショット 010 \"final\" $(id) #1 'q'"
WAIT = 900  # seconds a DAG may take on a loaded machine before the test gives up

# A renderer for the tests: writes one text file per frame into {output_dir}; "once" fails each
# node's first attempt, "until" fails until a release file exists (then resubmit runs what is left).
FLAKY = '''import os, sys
out, start, end, node, markers, mode = sys.argv[1:7]
mark = os.path.join(markers, node)
if mode == "once" and not os.path.exists(mark):
    open(mark, "w").close()
    sys.exit(1)
if mode == "until" and not os.path.exists(os.path.join(markers, "release")):
    sys.exit(1)
for f in range(int(start), int(end) + 1):
    with open(os.path.join(out, "frame.%04d.txt" % f), "w") as fh:
        fh.write("%s %d\\n" % (node, f))
'''


@pytest.fixture(scope="session")
def pool():
    where = find_htcondor()
    if where is None:
        pytest.skip("../shared/htcondor not present (a real HTCondor pool for these tests)")
    p = Pool(where)
    try:
        try:
            p.setup()
        except PoolUnavailable as exc:
            pytest.skip(f"real pool not available: {exc}")
        yield p
    finally:
        p.stop()


class Farm:
    """Jobs submitted to the pool by the tests, each in its own folder with its own config."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.jobs: Dict[str, Dict] = {}
        (pool.work / "flaky.py").write_text(FLAKY, encoding="utf-8")
        for mode in ("once", "until"):
            (pool.work / "markers" / mode).mkdir(parents=True)
        pool.chown(pool.work)

    def shot(self, name: str, folder: str = "shot") -> Path:
        target = self.pool.work / name / "shows" / folder
        shutil.copytree(EXAMPLE, target)
        return target / SCENE

    def config(self, name: str, jobs: Dict, **top: Dict) -> Path:
        base = self.pool.work / name
        (base / "store").mkdir(parents=True, exist_ok=True)
        doc = {
            "store": {"url": (base / "store").as_uri(), "hash_cache": str(base / "cache" / "h.sqlite"),
                      "transfer": {"node_cache": str(base / "node-cache")}},
            "jobs": dict({
                "registry": str(base / "jobs.jsonl"), "launcher": [self.pool.python, "-m", "cloudsubmit"],
                "pool": "studio-annex", "chunk": 2, "node_status_interval": 5,
                "pools": {"studio-annex": {"cloud": {"request_cpus": 1, "request_memory": "1GB"},
                                           "local": {"request_memory": "512MB"}}},
            }, **jobs),
        }
        doc.update(top)
        path = base / "config.yaml"
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
        return path

    def flaky(self, mode: str) -> Dict:
        return {"renderer": "generic", "generic_command": [
            "{python}", str(self.pool.work / "flaky.py"), "{output_dir}", "{start}", "{end}", "{node}",
            str(self.pool.work / "markers" / mode), mode]}

    def submit(self, name: str, scene: Path, jobs: Dict, *args: str, dry_run: bool = False) -> Dict:
        cfg = self.config(name, jobs)
        self.pool.chown(self.pool.work)
        res = self.pool.cli("--config", str(cfg), "submit", str(scene), "--frames", "1-4", "--scheduler",
                            "htcondor", "--json", *args, *(["--dry-run"] if dry_run else []))
        assert res.returncode == 0, f"{name}: {res.stderr}"
        out = json.loads(res.stdout)
        job = {"name": name, "config": cfg, "scene": scene, "bundle": Path(out["bundle"]),
               "clusters": [out["cluster"]] if "cluster" in out else []}
        self.jobs[name] = job
        return job

    def resubmit(self, name: str) -> int:
        job = self.jobs[name]
        res = self.pool.cli("--config", str(job["config"]), "resubmit", str(job["bundle"]),
                            "--scheduler", "htcondor", "--json")
        assert res.returncode == 0, f"{name}: {res.stderr}"
        cluster = json.loads(res.stdout)["cluster"]
        job["clusters"].append(cluster)
        return cluster

    def wait(self, clusters: List[int]) -> None:
        """Until no DAGMan job of ``clusters`` is in the queue (finished, failed or aborted)."""
        deadline = time.monotonic() + WAIT
        left = set(clusters)
        while left and time.monotonic() < deadline:
            queued = {int(line) for line in self.pool.condor("condor_q", "-af", "ClusterId") if line.strip()}
            left &= queued
            if left:
                time.sleep(2)
        assert not left, f"DAGs {sorted(left)} still in the queue after {WAIT} s"

    def status(self, name: str) -> Dict:
        job = self.jobs[name]
        res = self.pool.cli("--config", str(job["config"]), "status", str(job["bundle"]), "--json")
        assert res.returncode in (0, 1), f"{name}: {res.stderr}"
        return json.loads(res.stdout)

    def until_explained(self, name: str, want=lambda p: p["stage"] == "render") -> Dict:
        """``status --json`` of ``name`` once a problem ``want`` accepts is listed."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            st = self.status(name)
            if any(want(p) for p in st["problems"]):
                return st
            time.sleep(2)
        raise AssertionError(f"{name}: no problem explained after {WAIT} s: {st}")

    def hold(self, constraint: str, reason: str) -> None:
        """What an admin's condor_hold does (the shared build ships no condor_hold: the bindings)."""
        code = "import sys, htcondor2; htcondor2.Schedd().act(htcondor2.JobAction.Hold, sys.argv[1], sys.argv[2])"
        res = self.pool.run([self.pool.python, "-c", code, constraint, reason])
        assert res.returncode == 0, res.stderr

    def history(self, cluster: int) -> List[List[str]]:
        """``[node, slot, exit code]`` for every node job of DAGMan cluster ``cluster``, oldest first."""
        rows = self.pool.condor("condor_history", "-constraint", f"DAGManJobId == {cluster}", "-forwards",
                                "-af", "DAGNodeName", "LastRemoteHost", "ExitCode")
        return [line.split() for line in rows if line.strip()]


@pytest.fixture(scope="module")
def farm(pool):
    """Every DAG of the module, submitted at once, then waited for (the rescue DAG's resubmit
    and the probes run while the others are still on the pool)."""
    f = Farm(pool)
    f.submit("slots", f.shot("slots", HOSTILE_SHOT), {"renderer": "demo", "submit_with": "bindings"})
    f.submit("retry", f.shot("retry"), f.flaky("once"), "--output-dir", str(pool.work / "retry" / "日本語シーン"))
    f.submit("rescue", f.shot("rescue"), dict(f.flaky("until"), retry={"render": 0}))
    f.submit("command", f.shot("command"), {"renderer": "demo", "submit_with": "condor_submit_dag"},
             "--output-dir", str(pool.work / "command" / "tab\tout"))
    abort = f.submit("abort", f.shot("abort"), {"renderer": "demo"}, dry_run=True)
    (abort["scene"].parent.parent / "sourceimages" / "env maps" / "sky dome.hdr").unlink()  # gone before upload
    f.resubmit("abort")
    # the rescue DAG's second round overlaps everything below
    f.wait(f.jobs["rescue"]["clusters"])
    f.rescue_status = f.status("rescue")
    (pool.work / "markers" / "until" / "release").write_text("", encoding="utf-8")
    f.resubmit("rescue")
    roots = {"paths": {"roots": {"work": {"linux": str(pool.work), "cloud": str(pool.work)},
                                 "gs": {"linux": str(pool.work / "gs"), "cloud": str(pool.work / "gs")}}}}
    probe = f.config("probe", {"bundle_root": str(pool.work / "probe" / "bundles")}, **roots)
    big = f.config("probe-big", {"bundle_root": str(pool.work / "probe-big" / "bundles"),
                                 "pools": {"studio-annex": {"cloud": {"request_cpus": 4}}}})
    pool.chown(pool.work)
    f.doctor = pool.cli("--config", str(probe), "doctor", "--json")
    f.check = pool.cli("--config", str(probe), "pool", "check", "--json")
    f.check_big = pool.cli("--config", str(big), "pool", "check", "--place", "cloud", "--timeout", "20", "--json")
    # the built-in studio-annex request (4 CPUs) on a pool whose cloud slots have 2: renders sit idle
    f.submit("idle", f.shot("idle"), {"renderer": "demo", "explain_idle_after": 0,
                                       "pools": {"studio-annex": {"cloud": {"request_cpus": 4}}}})
    f.idle_status = f.until_explained("idle")
    f.hold(f'DAGNodeName == "render_0002" && DAGManJobId == {f.jobs["idle"]["clusters"][0]}', "held by the farm test")
    f.held_status = f.until_explained("idle", lambda p: p["state"] == "held")
    f.cancel = f.pool.cli("--config", str(f.jobs["idle"]["config"]), "cancel", str(f.jobs["idle"]["bundle"]), "--json")
    f.wait([c for j in f.jobs.values() for c in j["clusters"]])
    f.idle_queue_after = f.pool.condor("condor_q", "-af", "CloudSubmitJob")
    return f


def _frames(folder: Path) -> List[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _shot_frames(images: Path) -> List[str]:
    """Frame names under the shot's images/shot010_lighting (whatever layer folders the scan names)."""
    found = _frames(images)
    assert all(f.startswith("shot010_lighting/") for f in found), found
    return sorted(f.rsplit("/", 1)[-1] for f in found)


def _slots(rows: List[List[str]]) -> Dict[str, set]:
    out: Dict[str, set] = {}
    for node, slot, _code in rows:
        out.setdefault(node.split("_")[0], set()).add(slot.split("@")[1])
    return out


def test_stages_run_on_their_slots_and_frames_come_home_to_a_hostile_shot_folder(farm):
    job = farm.jobs["slots"]
    rows = farm.history(job["clusters"][0])
    assert _slots(rows) == {"upload": {"intra"}, "render": {"cloud"}, "download": {"intra"}}, rows
    assert sorted(r[0] for r in rows) == ["download", "render_0001", "render_0002", "upload"]
    assert job_status(str(job["bundle"])).state == "done"
    images = job["scene"].parent.parent / "images"
    assert _shot_frames(images) == [f"beauty.{f:04d}.png" for f in (1, 2, 3, 4)]  # named as the scene's image prefix says
    shows = job["scene"].parent.parent.parent
    assert sorted(p.name for p in shows.iterdir()) == ["cloudsubmit", HOSTILE_SHOT]  # nothing lands beside it


def test_a_node_failing_once_is_retried_and_frames_land_in_a_japanese_folder(farm):
    job = farm.jobs["retry"]
    rows = farm.history(job["clusters"][0])
    renders = [r for r in rows if r[0].startswith("render")]
    assert sorted((r[0], r[2]) for r in renders) == [("render_0001", "0"), ("render_0001", "1"),
                                                      ("render_0002", "0"), ("render_0002", "1")], rows
    assert job_status(str(job["bundle"])).state == "done"
    out = farm.pool.work / "retry" / "日本語シーン"
    assert _frames(out) == [f"frame.{f:04d}.txt" for f in (1, 2, 3, 4)]


def test_a_failing_upload_aborts_the_dag_before_any_render_starts(farm):
    job = farm.jobs["abort"]
    rows = farm.history(job["clusters"][0])
    assert [r[0] for r in rows] == ["upload"] and rows[0][2] == "3", rows  # no retry, no render
    st = job_status(str(job["bundle"]))
    assert st.state == "failed" and st.stages["render"].done == 0
    result = json.loads((job["bundle"] / "logs" / "upload.result.json").read_text("utf-8"))
    assert "sky dome.hdr" in result.get("error", ""), result


def test_resubmit_runs_only_what_the_rescue_dag_left(farm):
    job = farm.jobs["rescue"]
    first, second = (farm.history(c) for c in job["clusters"])
    assert sorted(r[0] for r in first) == ["render_0001", "render_0002", "upload"], first
    assert sorted(r[0] for r in second) == ["download", "render_0001", "render_0002"], second
    assert job_status(str(job["bundle"])).state == "done"
    assert _shot_frames(job["scene"].parent.parent / "images") == [f"frame.{f:04d}.txt" for f in (1, 2, 3, 4)]


def test_condor_submit_dag_path_and_a_tab_in_the_output_folder(farm):
    job = farm.jobs["command"]
    rows = farm.history(job["clusters"][0])
    assert _slots(rows) == {"upload": {"intra"}, "render": {"cloud"}, "download": {"intra"}}, rows
    assert _frames(farm.pool.work / "command" / "tab\tout") == [f"beauty.{f:04d}.png" for f in (1, 2, 3, 4)]


def test_idle_and_held_nodes_are_explained_by_the_pool_and_cancel_removes_the_dag(farm):
    idle = [p for p in farm.idle_status["problems"] if p["state"] == "idle"]
    assert {p["node"] for p in idle} == {"render_0001", "render_0002"}, farm.idle_status
    assert all(p["reason"].endswith("no cloud slot has 4 CPUs (largest: 2)") for p in idle), idle
    held = [p for p in farm.held_status["problems"] if p["state"] == "held"]
    # this build's Schedd.act(Hold, ..., reason) records no HoldReason: the code says who held it
    assert [(p["node"], p["reason"]) for p in held] == [
        ("render_0002", "by a user or an admin (condor_hold), no reason given")], farm.held_status
    assert farm.cancel.returncode == 0, farm.cancel.stderr
    assert json.loads(farm.cancel.stdout)["removed"] >= 1
    job = farm.jobs["idle"]
    assert job["bundle"].name not in [line.strip() for line in farm.idle_queue_after]  # no node job left
    assert farm.history(job["clusters"][0])[0][0] == "upload"  # it did run up to the renders


def test_failed_nodes_show_exit_code_first_error_line_and_log(farm):
    st = farm.rescue_status
    assert st["state"] == "failed"
    failed = sorted((p for p in st["problems"] if p["state"] == "failed"), key=lambda p: p["node"])
    assert [p["node"] for p in failed] == ["render_0001", "render_0002"], st
    for p in failed:
        assert p["exit_code"] == 1 and Path(p["log"]).is_file() and p["log"].endswith(f"{p['node']}.err")
        assert "exited with 1" in p["reason"], p


def test_doctor_on_the_pool_user_setup(farm):
    assert farm.doctor.returncode == 0, farm.doctor.stdout + farm.doctor.stderr
    checks = {c["name"]: c for c in json.loads(farm.doctor.stdout)["checks"]}
    assert checks["htcondor"]["level"] == "ok" and "schedd answers" in checks["htcondor"]["message"]
    assert checks["store"]["level"] == "ok" and "reachable and writable" in checks["store"]["message"]
    assert checks["cloud"]["level"] == "ok" and checks["config"]["message"].endswith("probe/config.yaml")


def test_pool_check_reports_each_placement_and_why_a_big_request_never_starts(farm):
    assert farm.check.returncode == 1, farm.check.stderr  # the gs root is not "mounted"
    places = {p["place"]: p for p in json.loads(farm.check.stdout)["places"]}
    assert set(places) == {"local", "cloud"}
    assert "@intra@" in places["local"]["slot"] and "@cloud@" in places["cloud"]["slot"], places
    for p in places.values():
        node = p["node"]
        assert node["cloudsubmit"] and node["job_format"] == 1 and node["python"].startswith("3.")
        assert node["store"].endswith("reachable") and node["node_cache"].endswith("writable"), node
        assert f"work: {farm.pool.work} present" in node["roots"], node
        assert node["problems"] == [f"root gs: {farm.pool.work / 'gs'} is not on this node (is it mounted?)"], node
        assert isinstance(p["waited"], float) and p["waited"] >= 0
    assert farm.check_big.returncode == 1, farm.check_big.stderr
    (big,) = json.loads(farm.check_big.stdout)["places"]
    assert big["state"] == "did not start" and big["reason"].endswith("no cloud slot has 4 CPUs (largest: 2)"), big
