"""`cloudsubmit submit` as an artist runs it, with hostile scene paths."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

htcondor2 = pytest.importorskip("htcondor2")

from cloudsubmit.jobs import condor  # noqa: E402
from cloudsubmit.jobs.dagfile import read_dag  # noqa: E402

SCENE = '//Maya ASCII 2023 scene\nrequires maya "2023";\ncreateNode transform -n "persp";\n'


@pytest.mark.parametrize("folder", ["shot 010", "it's \"quoted\"", "macro $(Cluster) #1", "日本語 ショット"])
def test_submit_dry_run_json_and_every_sub_parses(cli, tmp_path, folder):
    shot = tmp_path / folder
    shot.mkdir()
    scene = shot / f"{folder}.ma"
    scene.write_text(SCENE, encoding="utf-8")
    res = cli("--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "submit", str(scene), "--frames", "1-5",
              "--chunk", "2", "--place", "render=local", "--option", "camera=shot Cam", "--name", folder + " v2",
              "--priority", "5", "--dry-run", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out) >= {"job_id", "bundle", "dag"} and out["dry_run"] is True and "cluster" not in out
    bundle = Path(out["bundle"])
    beside = shot if condor.dagman_reads_literally(str(shot)) else tmp_path  # DAGMan expands "$("
    assert bundle.is_absolute() and bundle.parent == beside / "cloudsubmit" / "jobs"
    assert Path(out["dag"]) == bundle / "job.dag"
    dag = read_dag(bundle / "job.dag")
    assert list(dag.nodes) == ["render_0001", "render_0002", "render_0003"]
    for node in dag.nodes.values():
        sub = htcondor2.Submit((bundle / node.submit).read_text(encoding="utf-8"))
        for k, v in node.vars.items():
            sub[k] = v
        args = condor.split_arguments(sub.expand("arguments"))
        assert args[-5:] == ["stage", "render", str(bundle), "--node", node.name]
        assert sub.expand("batch_name") == folder + " v2" and sub["priority"] == "5"
    job = json.loads((bundle / "job.json").read_text(encoding="utf-8"))
    assert job["plan"]["scene"] == str(scene) and job["plan"]["render_options"]["camera"] == "shot Cam"


def test_submit_refuses_a_newline_in_the_path_and_writes_nothing(cli, tmp_path):
    shot = tmp_path / "evil\nqueue 5"
    shot.mkdir()
    scene = shot / "a.ma"
    scene.write_text(SCENE)
    res = cli("submit", str(scene), "--frames", "1", "--place", "render=local", "--dry-run")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert not (shot / "cloudsubmit" / "jobs").exists() or not any((shot / "cloudsubmit" / "jobs").iterdir())


@pytest.mark.parametrize("args,needle", [
    (["--place", "render=moon"], "local or cloud"),
    (["--place", "paint=local"], "unknown stage"),
    (["--chunk", "0"], "at least 1"),
    (["--frames", "x-y"], "x-y"),
    (["--renderer", "blender"], "unknown renderer"),
    (["--option", "novalue"], "KEY=VALUE"),
])
def test_bad_submit_input_is_one_line_exit_2(cli, tmp_path, args, needle):
    scene = tmp_path / "a.ma"
    scene.write_text(SCENE)
    base = ["submit", str(scene), "--dry-run", "--place", "render=local"]
    if "--frames" not in args:
        base += ["--frames", "1-3"]
    res = cli(*base, *args)
    assert res.returncode == 2, (args, res.stderr)
    assert needle in res.stderr and res.stderr.count("\n") == 1


def _scene_with_textures(folder: Path, present: int, absent: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [SCENE]
    for i in range(present + absent):
        tex = folder / "tex" / f"t{i}.png"
        if i < present:
            tex.parent.mkdir(exist_ok=True)
            tex.write_bytes(b"png")
        lines.append(f'createNode file -n "t{i}";\n\tsetAttr ".fileTextureName" -type "string" "{tex.as_posix()}";\n')
    scene = folder / "shot.ma"
    scene.write_text("".join(lines), encoding="utf-8")
    return scene


def test_submit_refuses_missing_files_naming_the_count_and_the_override(cli, tmp_path):
    scene = _scene_with_textures(tmp_path / "shot", present=1, absent=2)
    res = cli("--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "submit", str(scene), "--frames", "1-2",
              "--place", "render=local", "--dry-run")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert "2 needed files missing" in res.stderr and "--allow-missing" in res.stderr
    assert (tmp_path / "shot" / "tex" / "t1.png").as_posix() in res.stderr
    assert not (tmp_path / "shot" / "cloudsubmit").exists()


def test_submit_allow_missing_leaves_the_missing_files_out_and_says_so(cli, tmp_path):
    scene = _scene_with_textures(tmp_path / "shot", present=1, absent=2)
    args = ["--set", f"jobs.registry={tmp_path / 'r.jsonl'}", "submit", str(scene), "--frames", "1-2",
            "--place", "render=local", "--dry-run", "--allow-missing"]
    res = cli(*args, "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert [w for w in out["warnings"] if "2 needed files missing" in w and "--allow-missing" in w]
    files = json.loads((Path(out["bundle"]) / "input_paths.json").read_text(encoding="utf-8"))["files"]
    tex = tmp_path / "shot" / "tex"
    assert (tex / "t0.png").as_posix() in files and str(scene.as_posix()) in files
    assert not [f for f in files if f.endswith(("t1.png", "t2.png"))]
    plain = cli(*args)
    assert plain.returncode == 0 and "warning: 2 needed files missing" in plain.stderr


def test_jobs_says_where_it_looked_when_nobody_submitted_yet(cli, tmp_path):
    reg = tmp_path / "no such dir" / "jobs.jsonl"
    res = cli("--set", f"jobs.registry={reg}", "jobs")
    assert res.returncode == 0 and res.stdout == f"no jobs submitted yet (registry: {reg})\n"
    res = cli("--set", f"jobs.registry={reg}", "jobs", "--json")
    assert res.returncode == 0 and json.loads(res.stdout) == []
    default = cli("jobs", env={"XDG_DATA_HOME": str(tmp_path / "data")})
    assert default.stdout == f"no jobs submitted yet (registry: {tmp_path / 'data' / 'cloudsubmit' / 'jobs.jsonl'})\n"
