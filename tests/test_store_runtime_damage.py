"""Runtime damage on this machine answers in one line or works around it, never "internal error":
a full disk under the hash cache (the good cache is kept), a hash cache with another schema, a
cache folder that is a file, a full bundle folder, a NUL in a manifest path, a stage run on a
damaged job.json. A full disk is a file-size limit (RLIMIT_FSIZE) on a child process: writes
past it fail the way they fail on a full disk, with no mount needed."""
from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from cloudsubmit.store.hashcache import FileStat, HashCache
from conftest import REPO


def _limited(code: str, limit: int, env=None) -> subprocess.CompletedProcess:
    def cap() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    full_env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1", **(env or {}))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          preexec_fn=cap, env=full_env, timeout=120)


def _good_cache(tmp_path, files=3):
    paths = []
    for i in range(files):
        p = tmp_path / f"f{i}.exr"
        p.write_bytes(b"x" * (i + 1))
        paths.append(str(p))
    db = tmp_path / "cache" / "hashes.sqlite"
    cache = HashCache(str(db))
    cache.put_many((FileStat.of(p), f"{i:032x}") for i, p in enumerate(paths))
    cache.close()
    return db, paths


def test_a_full_disk_under_the_hash_cache_keeps_the_good_cache(tmp_path):
    db, paths = _good_cache(tmp_path)
    before = db.read_bytes()
    code = f"""
        from cloudsubmit.store.hashcache import FileStat, HashCache
        c = HashCache({str(db)!r})
        stats = [FileStat.of(p) for p in {paths!r}]
        c.put_many([(s, "f" * 32) for s in stats])
        print(len(c.lookup(stats)))
        """
    res = _limited(code, limit=1)
    assert res.returncode == 0, res.stderr
    assert db.read_bytes() == before and not list(db.parent.glob("*.corrupt"))
    assert len(HashCache(str(db)).lookup([FileStat.of(p) for p in paths])) == 3


def test_a_hash_cache_with_another_schema_is_set_aside_and_rebuilt(tmp_path):
    db = tmp_path / "hashes.sqlite"
    with sqlite3.connect(str(db)) as con:
        con.execute("CREATE TABLE hashes (path TEXT, digest BLOB)")
        con.execute("INSERT INTO hashes VALUES ('/x', 'y')")
    f = tmp_path / "a.exr"
    f.write_bytes(b"abc")
    cache = HashCache(str(db))
    cache.put_many([(FileStat.of(str(f)), "a" * 32)])
    assert cache.lookup([FileStat.of(str(f))]) == {str(f): "a" * 32}
    assert (tmp_path / "hashes.sqlite.corrupt").is_file()


def test_a_cache_folder_that_is_a_file_gives_a_cache_in_memory(tmp_path):
    (tmp_path / "cache").write_text("not a folder")
    f = tmp_path / "a.exr"
    f.write_bytes(b"abc")
    cache = HashCache(str(tmp_path / "cache" / "hashes.sqlite"))
    cache.put_many([(FileStat.of(str(f)), "a" * 32)])
    assert cache.lookup([FileStat.of(str(f))]) == {str(f): "a" * 32}
    assert (tmp_path / "cache").read_text() == "not a folder"


def test_resolve_with_a_cache_folder_that_is_a_file_and_a_nul_in_the_manifest(cli, tmp_path):
    (tmp_path / "xdg").mkdir()
    (tmp_path / "xdg" / "cloudsubmit").write_text("a file where the cache folder goes")
    store = tmp_path / "store"
    store.mkdir()
    f = tmp_path / "a.exr"
    f.write_bytes(b"abc")
    env = {"CLOUDSUBMIT_STORE": store.as_uri(), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    (tmp_path / "m.json").write_text(json.dumps({"files": [str(f)]}))
    ok = cli("upload", "--manifest", str(tmp_path / "m.json"), "--json", env=env)
    assert ok.returncode == 0 and json.loads(ok.stdout)["uploaded_files"] == 1, ok.stderr
    (tmp_path / "nul.json").write_text(json.dumps({"files": [str(f) + "\x00.exr"]}))
    bad = cli("upload", "--manifest", str(tmp_path / "nul.json"), env=env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "NUL" in bad.stderr, bad.stderr


def test_a_full_bundle_folder_is_one_line_and_leaves_nothing(tmp_path):
    scene = tmp_path / "shot" / "shot.ma"
    scene.parent.mkdir()
    scene.write_text('//Maya ASCII 2023 scene\nrequires maya "2023";\n', encoding="utf-8")
    bundles = tmp_path / "bundles"
    code = f"""
        import sys
        from cloudsubmit.cli import main
        sys.exit(main(["submit", {str(scene)!r}, "--frames", "1-40", "--place", "render=local",
                       "--scheduler", "local", "--bundle-dir", {str(bundles / "job")!r}, "--dry-run"]))
        """
    res = _limited(code, limit=2048, env={"XDG_CACHE_HOME": str(tmp_path / "xdg"),
                                          "CLOUDSUBMIT_STORE": str(tmp_path)})
    assert res.returncode in (1, 2), res.stderr
    assert res.stderr.startswith("cloudsubmit: error: ") and res.stderr.count("\n") == 1, res.stderr
    assert "internal error" not in res.stderr
    assert not bundles.exists() or not any(bundles.rglob("*.sub")), list(bundles.rglob("*"))


@pytest.mark.parametrize("damage", ["truncated", "a list", "no plan", "plan wrongly typed"])
def test_a_stage_on_a_damaged_job_json_is_one_line(cli, tmp_path, damage):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "job.dag").write_text("JOB upload upload.sub\n")
    text = {"truncated": '{"plan": {"job_id": "j', "a list": "[1, 2]", "no plan": '{"x": 1}',
            "plan wrongly typed": '{"plan": {"job_id": 5, "nodes": "upload"}}'}[damage]
    (bundle / "job.json").write_text(text)
    res = cli("stage", "upload", str(bundle), "--node", "upload")
    assert res.returncode == 3, res.stderr  # failed for good: DAGMan must not retry a damaged bundle
    assert res.stderr.count("\n") == 1 and "job" in res.stderr and "internal error" not in res.stderr
