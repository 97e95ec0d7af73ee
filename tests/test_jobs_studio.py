"""docs/examples/studio-setup.yaml reproduces ../shared/STUDIO-SETUP.md: the same placement in the
written submit files, the same upload -> rename -> download chain, run for real on this machine."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

htcondor2 = pytest.importorskip("htcondor2")

from cloudsubmit.config import load_config  # noqa: E402
from cloudsubmit.jobs.bundle import write_bundle  # noqa: E402
from cloudsubmit.jobs.dagfile import read_dag  # noqa: E402
from cloudsubmit.jobs.plan import make_plan  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "docs" / "examples" / "studio-setup.yaml"


def _shot(tmp_path: Path) -> Path:
    shot = tmp_path / "gs" / "work" / "neo" / "cloudTest"
    (shot / "render").mkdir(parents=True)
    for f in range(1, 11):
        (shot / "render" / f"layout_Arnold.{f:04d}.exr").write_bytes(b"EXR%04d" % f * 1000)
    shutil.copy(REPO / "docs" / "examples" / "rename.py", shot / "rename.py")
    return shot


def test_example_config_writes_the_studio_submit_files(tmp_path):
    shot = _shot(tmp_path)
    cfg = load_config(studio_file=str(EXAMPLE), user_file=str(tmp_path / "n.yaml"),
                      overrides={"jobs.bundle_root": str(shot / "cloudsubmit" / "jobs")})
    plan = make_plan(str(shot / "rename.py"), range(1, 11), cfg, output_dir=str(shot / "renamed"))
    bundle = write_bundle(plan, cfg).path
    dag = read_dag(bundle / "job.dag")
    assert [n for n in dag.nodes] == ["upload", "render_0001", "download"]
    assert dag.nodes["render_0001"].parents == ["upload"] and dag.nodes["download"].parents == ["render_0001"]
    up = htcondor2.Submit((bundle / "upload.sub").read_text())
    render = htcondor2.Submit((bundle / "render.sub").read_text())
    down = htcondor2.Submit((bundle / "download.sub").read_text())
    for sub in (up, down):
        assert sub["requirements"] == ('TARGET.OpSys == "LINUX" && TARGET.FileSystemDomain == "intra.studio.example"'
                                       ' && TARGET.UidDomain == "intra.studio.example"')
        assert sub["should_transfer_files"] == "NO"
    assert 'TARGET.FileSystemDomain == "aws.studio.example"' in render["requirements"]
    assert render["MY.MayUseAWS"] == "true"
    assert up["executable"] == "/gs/tools/cloudsubmit/venv/bin/python"
    assert plan.renderer == "generic" and cfg["store"]["layout"] == "mirror"


@pytest.mark.parametrize("layout", ["mirror", "cas"])
def test_example_chain_runs_locally_and_renames_the_frames(tmp_path, monkeypatch, layout):
    """This machine has no /gs and no bucket: the store is a directory, which also plays the
    bucket that cloud nodes mount with s3fs (mirror layout), the shot has its own root."""
    from cloudsubmit.api import SubmitOptions, submit_scene

    monkeypatch.setenv("PYTHONPATH", str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    shot = _shot(tmp_path)
    cfg = load_config(studio_file=str(EXAMPLE), user_file=str(tmp_path / "n.yaml"), overrides={
        "store.url": "file://" + str(tmp_path / "store"), "store.layout": layout,
        "store.mirror.mount": str(tmp_path / "store"),
        "paths.roots.gs": {"linux": str(tmp_path / "gs"), "cloud": str(tmp_path / "store")},
        "store.hash_cache": str(tmp_path / "h.sqlite"), "store.transfer.node_cache": str(tmp_path / "nc"),
        "jobs.bundle_root": str(shot / "cloudsubmit" / "jobs"), "jobs.launcher": [],
        "jobs.generic_command": [sys.executable, "{scene}", "{start}", "{end}", "{output_dir}"],
        "jobs.registry": str(tmp_path / "r.jsonl"), "jobs.chunk": 5})
    (tmp_path / "store").mkdir()
    result = submit_scene(str(shot / "rename.py"), SubmitOptions(frames="1-10", inputs=[str(shot / "render")],
                          output_dir=str(shot / "renamed"), scheduler="local"), cfg)
    assert result.local["state"] == "done", result.local
    assert result.inputs["to_upload_files"] == 11
    renamed = sorted(p.name for p in (shot / "renamed").iterdir())
    assert renamed == [f"renamed.{f:04d}.exr" for f in range(1, 11)]
    assert (shot / "renamed" / "renamed.0007.exr").read_bytes() == b"EXR0007" * 1000
    if layout == "mirror":  # as in the setup: /gs/work/neo/... is the key work/neo/... in the bucket
        assert (tmp_path / "store" / "work" / "neo" / "cloudTest" / "render" / "layout_Arnold.0003.exr").is_file()
