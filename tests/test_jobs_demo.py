"""The main job end to end: scan -> store -> bundle -> local DAG run (upload, render on the
"cloud" side, download), on a file:// store through `cloudsubmit demo` and on the moto S3 server."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cloudsubmit.api import SubmitOptions, submit_scene  # noqa: E402
from cloudsubmit.commands.demo import copy_example  # noqa: E402
from cloudsubmit.config import load_config  # noqa: E402
from cloudsubmit.jobs.status import job_status  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _repo_on_path(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def test_demo_renders_images_and_second_run_uploads_nothing(cli, tmp_path):
    work = tmp_path / "demo"
    first = cli("demo", "--work-dir", str(work))
    assert first.returncode == 0, first.stderr
    assert "uploaded: 10 files" in first.stdout
    lines = first.stdout.splitlines()
    assert f"store:    {(work / 'store').as_uri()} (the demo's own; a studio sets store.url)" in lines
    assert "upload   ... done (10 files, 4.0 KB sent, 0 already in the store)" in lines
    assert lines.index("render   ... 2/2 nodes done") < [i for i, ln in enumerate(lines) if ln.startswith("download ...")][0]
    # the images land where the scan said the scene renders them: images/<Scene>/<RenderLayer>/beauty
    folder = work / "demo_shot" / "images" / "shot010_lighting" / "masterLayer"
    assert f"  {folder / 'beauty'}  (defaultRenderGlobals.imageFilePrefix)" in lines
    assert f"download ... done: 3 images into {folder}" in lines
    assert not [ln for ln in lines + first.stderr.splitlines() if "write:" in ln or "run:" in ln]
    images = sorted(folder.glob("*.png"))
    assert [p.name for p in images] == [f"beauty.{f:04d}.png" for f in (1, 2, 3)]
    assert f"images:   {folder} (3 files)" in lines
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in images)
    second = cli("demo", "--work-dir", str(work))
    assert second.returncode == 0, second.stderr
    assert "uploaded: 0 files, 0 bytes (10 already in the store)" in second.stdout
    assert "upload   ... done (0 bytes sent: all 10 files were already in the store)" in second.stdout
    assert "nothing uploaded: every file was already in the store from an earlier run" in second.stdout
    hint = [ln.strip() for ln in second.stdout.splitlines() if ln.strip().startswith("cloudsubmit status ")]
    assert len(hint) == 1
    status = cli(*hint[0].split(" ", 1)[1].split(" ", 1))
    assert status.returncode == 0 and status.stdout.splitlines()[0].endswith("done"), status.stdout
    res = cli("--set", f"jobs.registry={work / 'jobs.jsonl'}", "jobs", "--json")
    assert res.returncode == 0 and res.stdout.count('"state": "done"') == 2


@pytest.mark.parametrize("min_files", [32, 1], ids=["blobs", "packs"])
def test_submit_through_s3_with_a_local_run(tmp_path, s3_bucket, min_files):
    """With ``min_files`` 1 the shot's small files go up in a pack: the upload stage's manifest
    names it and the render nodes read their inputs out of it."""
    scene = copy_example(str(tmp_path / "w"))
    out = tmp_path / "w" / "images out"
    cfg = load_config(user_file=str(tmp_path / "n.yaml"), overrides={
        "store.url": f"s3://{s3_bucket}/team", "store.hash_cache": str(tmp_path / "cache" / "h.sqlite"),
        "store.transfer.node_cache": str(tmp_path / "node cache"), "jobs.registry": str(tmp_path / "r.jsonl"),
        "jobs.bundle_root": str(tmp_path / "jobs"), "store.packs.min_files": min_files})
    result = submit_scene(str(scene), SubmitOptions(frames="1-3", chunk=1, renderer="demo", scheduler="local",
                          output_dir=str(out), scout=False), cfg)
    assert result.local["state"] == "done", result.local
    assert sorted(p.name for p in out.glob("*.png")) == [f"beauty.{f:04d}.png" for f in (1, 2, 3)]
    st = job_status(result.bundle)
    assert st.state == "done" and st.stages["render"].done == 3
    import boto3

    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket, Prefix=f"team/jobs/{result.job_id}/")["Contents"]]
    assert f"team/jobs/{result.job_id}/inputs.json" in keys
    packs = s3.list_objects_v2(Bucket=s3_bucket, Prefix="team/packs/").get("Contents", [])
    manifest = s3.get_object(Bucket=s3_bucket, Key=f"team/jobs/{result.job_id}/inputs.json")["Body"].read()
    assert len(packs) == (1 if min_files == 1 else 0) and (b'"pack":' in manifest) == (min_files == 1)
    assert sum(1 for k in keys if "/outputs/" in k) == 3
    for p in Path(result.bundle).rglob("*"):
        if p.is_file():
            assert "testing" not in p.read_text(encoding="utf-8", errors="replace"), p
    shutil.rmtree(out)
    again = submit_scene(str(scene), SubmitOptions(frames="1-3", chunk=3, renderer="demo", scheduler="local",
                                                  output_dir=str(out)), cfg)
    assert again.inputs["to_upload_files"] == 0 and again.local["state"] == "done"
    assert len(list(out.glob("*.png"))) == 3
