"""The JSON the store and job commands print is a contract with studio scripts: its keys, their
order and its layout (indent, key sorting) are pinned here, byte for byte, with the values that
depend on the machine (paths, times, hashes) blanked and every count kept. The report types share
one counter type (``cloudsubmit.tally.Tally``); this proves that sharing it changed no output."""
from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

from support.store_fixtures import make_files

SCENE = "//Maya ASCII 2024 scene\nrequires maya \"2024\";\n"


def _blank(value: Any) -> Any:
    """Strings and floats blanked (they differ per machine and run); ints and layout kept."""
    if isinstance(value, dict):
        return OrderedDict((k, _blank(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_blank(v) for v in value]
    if isinstance(value, str):
        return "s"
    if isinstance(value, float):
        return 0.5
    return value


def _pinned(stdout: str, **options: Any) -> str:
    doc = json.loads(stdout, object_pairs_hook=OrderedDict)
    assert stdout == json.dumps(doc, ensure_ascii=False, **options) + "\n"  # the layout itself
    return json.dumps(_blank(doc), **options)


def _job(tmp_path: Path):
    """A bundle, its inputs in a directory store, and one render node's outputs there."""
    from cloudsubmit.config import load_config
    from cloudsubmit.jobs.bundle import write_bundle
    from cloudsubmit.jobs.plan import make_plan
    from cloudsubmit.store import open_store
    from cloudsubmit.store.layouts import resolve_inputs, send_inputs
    from cloudsubmit.store.manifest import inputs_manifest, output_roots, write_inputs
    from cloudsubmit.store.outputs import upload_outputs

    scene = tmp_path / "shot" / "a.ma"
    scene.parent.mkdir()
    scene.write_text(SCENE, encoding="utf-8")
    inputs = make_files(tmp_path / "shot" / "tex", {"a.exr": 3000, "b.exr": 2000})
    store_dir = tmp_path / "store"
    store_dir.mkdir()
    url = store_dir.as_uri()
    out_dir = tmp_path / "shot" / "images"
    cfg = load_config(overrides={"jobs.registry": str(tmp_path / "jobs.jsonl"),
                                 "store.hash_cache": str(tmp_path / "hc.sqlite"), "jobs.generic_command": ["true"]}, env={})
    plan = make_plan(str(scene), [1, 2], cfg, renderer="generic", output_dir=str(out_dir))
    bundle = write_bundle(plan, cfg, store_url=url).path
    store = open_store(url, cfg)
    res = resolve_inputs(inputs, store, cfg)
    send_inputs(res, store)
    write_inputs(store.backend, inputs_manifest(plan.job_id, res.files, output_dirs=[str(out_dir)]))
    out_dir.mkdir()
    (out_dir / "beauty.0001.exr").write_bytes(b"pixels")
    upload_outputs(store.backend, plan.job_id, "render_0001", list(output_roots([str(out_dir)]).values()))
    return plan.job_id, bundle, url, inputs


def test_command_json_is_byte_compatible(cli, tmp_path):
    job_id, bundle, url, inputs = _job(tmp_path)
    env = {"CLOUDSUBMIT_STORE": url, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    (tmp_path / "m.json").write_text(json.dumps({"files": inputs + [str(tmp_path / "shot" / "new.exr")]}))
    (tmp_path / "shot" / "new.exr").write_bytes(b"n" * 700)

    up = cli("upload", "--manifest", str(tmp_path / "m.json"), "--json", env=env)
    assert up.returncode == 0, up.stderr
    assert _pinned(up.stdout, indent=2) == json.dumps(OrderedDict([
        ("store", "s"), ("files", 3), ("to_upload_files", 1), ("to_upload_bytes", 700), ("skipped_files", 2),
        ("skipped_bytes", 5000), ("hashed_files", 1), ("missing", []), ("refused", []),
        ("uploaded_files", 1), ("uploaded_bytes", 700), ("indexed_files", 1), ("shard", "s"),
        ("packs", 0)]), indent=2)

    mat = cli("materialise", job_id, "--session", str(tmp_path / "session"), "--json", env=env)
    assert mat.returncode == 0, mat.stderr
    assert _pinned(mat.stdout, sort_keys=True) == json.dumps({
        "blobs_cached": 0, "blobs_fetched": 2, "bytes_fetched": 5000, "copied": 0, "files": 2, "job_id": "s",
        "linked": 2, "outputs": {"images": "s"}, "pack_reads": 0, "rules": [["s", "s"]], "seconds": 0.5, "session": "s"}, sort_keys=True)

    down = cli("download", job_id, "--dest", str(tmp_path / "dest"), "--json", env=env)
    assert down.returncode == 0, down.stderr
    assert _pinned(down.stdout, sort_keys=True) == json.dumps({
        "downloaded_bytes": 6, "downloaded_files": 1, "files": 1, "job_id": "s", "manifests": 1, "seconds": 0.5,
        "skipped_files": 0, "targets": ["s"]}, sort_keys=True)

    status = cli("--set", f"jobs.registry={tmp_path / 'jobs.jsonl'}", "status", str(bundle), "--json", env=env)
    assert status.returncode == 0, status.stderr
    doc = json.loads(status.stdout, object_pairs_hook=OrderedDict)
    assert status.stdout == json.dumps(doc, ensure_ascii=False) + "\n"
    assert list(doc) == ["job_id", "bundle", "state", "source", "updated", "stages", "problems"]
    stages = doc["stages"]
    assert json.dumps(stages) == json.dumps(OrderedDict(
        (stage, OrderedDict([("total", n), ("done", 0), ("running", 0), ("idle", 0), ("held", 0), ("failed", 0),
                             ("waiting", n), ("skipped", 0)]))
        for stage, n in (("upload", 1), ("render", 1), ("download", 1))))
