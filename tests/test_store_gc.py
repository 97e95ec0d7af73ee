"""`cloudsubmit index gc`: what killed uploads leave behind (temp files in a directory store,
incomplete multipart uploads on S3, node-cache lock files) is removed, and nothing a live upload
or download owns is touched."""
from __future__ import annotations

import fcntl
import json
import os

from cloudsubmit.store.materialise import remove_idle_locks
from support.store_fixtures import cli_env, open_as, store_url  # noqa: F401


def _leave_leftover(store, tmp_path) -> None:
    """A killed upload's leftover, written the way each backend leaves one."""
    backend = store.backend
    if store.url.startswith("s3://"):
        backend.client.create_multipart_upload(Bucket=backend.bucket, Key=backend._key("cas/" + "a" * 32))
    else:
        (backend.root / "cas").mkdir(exist_ok=True)
        (backend.root / "cas" / ".tmp-killed").write_bytes(b"half a blob")


def test_gc_removes_only_leftovers_older_than_the_grace(store_url, tmp_path):
    store = open_as(store_url, tmp_path, "a")
    _leave_leftover(store, tmp_path)
    if not store.url.startswith("s3://"):  # moto reports every multipart upload as begun in 2010
        assert store.backend.leftovers(3600) == []  # a minute-old one may be a live upload: kept
    found = store.backend.leftovers(0)
    assert len(found) == 1
    store.backend.remove_leftover(found[0][0])
    assert store.backend.leftovers(0) == []


def test_idle_node_cache_locks_go_and_held_ones_stay(tmp_path):
    locks = tmp_path / "blobs" / "locks"
    locks.mkdir(parents=True)
    for name in ("idle", "held"):
        (locks / f"{name}.lock").write_bytes(b"")
    fd = os.open(str(locks / "held.lock"), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert remove_idle_locks(str(tmp_path / "blobs")) == 1
        assert sorted(p.name for p in locks.iterdir()) == ["held.lock"]
    finally:
        os.close(fd)


def test_the_gc_command(cli, tmp_path):
    store = tmp_path / "store"
    (store / "cas").mkdir(parents=True)
    (store / "cas" / ".tmp-killed").write_bytes(b"x" * 10)
    env = cli_env(store.as_uri(), tmp_path, "a")
    keep = cli("index", "gc", "--json", env=env)
    assert keep.returncode == 0 and json.loads(keep.stdout)["removed"] == [], keep.stderr
    res = cli("index", "gc", "--older-than", "0", "--json", env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["removed"] == ["cas/.tmp-killed"] and not (store / "cas" / ".tmp-killed").exists()
