"""One place chooses the layout for every command that sends inputs: ``cloudsubmit upload``,
``upload --recheck`` and the DAG's upload stage all go through ``store.layouts``. With
``store.layout: mirror`` an ``upload`` writes the files' path keys, so a later job (its upload
stage skipping what the index lists, then a node checking and reading the keys) gets exactly the
bytes its manifest names. Each test runs on a directory store and on S3 (moto)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloudsubmit.errors import StoreError
from cloudsubmit.store.hashing import hash_file
from cloudsubmit.store.layouts import materialise_job, resolve_inputs, send_inputs
from cloudsubmit.store.manifest import inputs_manifest, write_inputs
from cloudsubmit.store.mirror import MirrorLayout
from support.store_fixtures import cli_env, make_files, open_as, store_url  # noqa: F401

SHOT = "work/neo/shot"


def _mirror(store_url: str, tmp_path: Path) -> dict:
    """Mirror settings as a studio writes them: on a directory store the store folder stands for
    the nodes' s3fs mount; on S3 the mount does not exist here, so a node's check downloads."""
    mount = store_url[len("file://"):] if store_url.startswith("file://") else str(tmp_path / "no-mount")
    return {"store.layout": "mirror", "store.mirror.mount": mount, "store.mirror.prefixes": {"gs": ""}}


def _cli_upload(cli, store_url: str, tmp_path: Path, roots: dict, files: list, *extra: str):
    (tmp_path / "m.json").write_text(json.dumps({"files": files}))
    return _cli(cli, store_url, tmp_path, roots, "upload", "--manifest", str(tmp_path / "m.json"), "--json", *extra)


def _cli(cli, store_url: str, tmp_path: Path, roots: dict, *args: str):
    """The command line on the artist's workstation, with the studio's mirror config."""
    env = cli_env(store_url, tmp_path, "artist")
    env["CLOUDSUBMIT_CONFIG"] = str(tmp_path / "studio.yaml")
    mount = _mirror(store_url, tmp_path)["store.mirror.mount"]
    (tmp_path / "studio.yaml").write_text(json.dumps({
        "paths": {"roots": roots}, "store": {"layout": "mirror", "mirror": {"mount": mount, "prefixes": {"gs": ""}}}}))
    return cli(*args, env=env)


def _job(store_url: str, tmp_path: Path, roots: dict, files: list, job_id: str):
    """What a job does with these inputs: its upload stage (resolve + send on a workstation that
    never saw the files), its manifest, then a render node's materialise in the mirror layout."""
    stage = open_as(store_url, tmp_path, "upload-node", roots, **_mirror(store_url, tmp_path))
    res = resolve_inputs(files, stage, stage.config)
    sent = send_inputs(res, stage)
    write_inputs(stage.backend, inputs_manifest(job_id, res.files))
    node = open_as(store_url, tmp_path, "render-node", roots, **_mirror(store_url, tmp_path))
    rep = materialise_job(node.backend, job_id, str(tmp_path / "session"), node.config)
    return stage, sent, rep


def _key_bytes(store, path: str, roots: dict) -> bytes:
    rel = Path(path).relative_to(roots["gs"]).as_posix()
    return store.backend.get_bytes(MirrorLayout.from_config(store.config).key("gs", rel))


def test_upload_command_in_mirror_layout_writes_the_keys_a_later_job_reads(cli, store_url, tmp_path):
    roots = {"gs": str(tmp_path / "gs")}
    files = make_files(tmp_path / "gs" / SHOT, {"scene.ma": 300, "tex/wall.tx": 5000, "tex/copy.tx": 5000})
    Path(files[2]).write_bytes(Path(files[1]).read_bytes())  # same bytes at two paths: two keys
    up = _cli_upload(cli, store_url, tmp_path, roots, files)
    assert up.returncode == 0, up.stderr
    out = json.loads(up.stdout)
    assert (out["uploaded_files"], out["skipped_files"], out["indexed_files"]) == (3, 0, 3)
    stage, sent, rep = _job(store_url, tmp_path, roots, files, "j1")
    assert (sent.uploaded_files, sent.skipped_files) == (0, 3)  # the index's word, and it is true
    assert rep.files == 3 and list(stage.backend.list("cas/")) == []  # no blob: the keys are the content
    for f in files:
        assert _key_bytes(stage, f, roots) == Path(f).read_bytes()
    if store_url.startswith("file://"):  # the node reads through the mount, at the mapped path
        on_node = Path(rep.session) / Path(files[1]).relative_to(roots["gs"])
        assert hash_file(str(on_node)) == hash_file(files[1])


def test_a_store_an_old_cas_upload_left_without_keys_is_repaired_by_recheck(cli, store_url, tmp_path):
    """Before the fix, `upload` in the mirror layout wrote a cas blob and an index entry but no
    key: every job failed on that file. `upload --recheck` in the mirror layout finds the key
    missing (or holding other bytes) and sends it again."""
    from cloudsubmit.store import resolve, upload

    roots = {"gs": str(tmp_path / "gs")}
    files = make_files(tmp_path / "gs" / SHOT, {"a.exr": 4000, "b.exr": 4000})
    old = open_as(store_url, tmp_path, "old-version", roots)
    upload(resolve(files, old, old.config), old)  # the cas upload an older cloudsubmit ran
    with pytest.raises(StoreError, match="missing"):
        _job(store_url, tmp_path, roots, files, "broken")
    lost = _cli(cli, store_url, tmp_path, roots, "index", "verify")
    assert lost.returncode == 1 and f"missing: {SHOT}/a.exr" in lost.stdout and "--recheck" in lost.stdout, lost.stdout
    fixed = _cli_upload(cli, store_url, tmp_path, roots, files, "--recheck")
    assert fixed.returncode == 0 and json.loads(fixed.stdout)["uploaded_files"] == 2, fixed.stderr
    stage = open_as(store_url, tmp_path, "x", roots, **_mirror(store_url, tmp_path))
    assert _cli(cli, store_url, tmp_path, roots, "index", "verify", "--deep").returncode == 0
    stage.backend.put_bytes(f"{SHOT}/a.exr", b"\0" * 4000)  # same size, other bytes under the key
    found = _cli(cli, store_url, tmp_path, roots, "index", "verify", "--deep")
    assert found.returncode == 1 and f"wrong content: {SHOT}/a.exr" in found.stdout, found.stdout + found.stderr
    again = _cli_upload(cli, store_url, tmp_path, roots, files, "--recheck")
    assert again.returncode == 0 and json.loads(again.stdout)["uploaded_files"] == 1, again.stderr
    _stage, sent, rep = _job(store_url, tmp_path, roots, files, "j2")
    assert sent.uploaded_files == 0 and rep.files == 2
    for f in files:
        assert _key_bytes(stage, f, roots) == Path(f).read_bytes()
