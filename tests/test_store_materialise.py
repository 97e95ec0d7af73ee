"""Materialising a job on a render node: node cache, hard links, verification, concurrency."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cloudsubmit.errors import Cancelled, StoreError
from cloudsubmit.store.hashing import hash_file
from cloudsubmit.store.local import LocalBackend
from cloudsubmit.storekeys import blob_key
from cloudsubmit.store.materialise import NodeCache, materialise
from cloudsubmit.store.pathmap import map_path, session_rules
from cloudsubmit.store.transfer import TransferItem, mark_transient, run_transfers
from support.storetools import GETS, CountingBackend, SlowBackend, payload, publish_job, write_tree

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def studio(tmp_path):
    gs = write_tree(tmp_path / "gs", {
        "tex/wall.exr": payload(1), "tex/wall.tx": payload(2), "tex/floor.exr": payload(3),
        "tex/floor_copy.exr": payload(3), "geo/set.abc": payload(4, 50000), "geo/hero.abc": payload(5),
    })
    lib = write_tree(tmp_path / "lib", {"hdri/sky.hdr": payload(6)})
    return {"gs": gs, "lib": lib}


def cache_is_consistent(cache_dir: Path) -> int:
    """Every blob in the cache hashes to its name and nothing partial is left. Returns the count."""
    blobs = [p for p in cache_dir.rglob("*") if p.is_file() and p.parent.name != "locks"]
    assert not [p for p in blobs if p.name.startswith(".tmp-")]
    for p in blobs:
        assert hash_file(str(p)) == p.name
    return len(blobs)


def test_two_jobs_on_one_node_download_each_blob_once(tmp_path, studio):
    store = CountingBackend(str(tmp_path / "store"))
    a = publish_job(store, "shotA", studio, {"gs": ["tex/wall.exr", "tex/floor.exr", "tex/floor_copy.exr", "geo/set.abc"]})
    b = publish_job(store, "shotB", studio, {"gs": ["tex/wall.exr", "tex/wall.tx", "geo/hero.abc"], "lib": ["hdri/sky.hdr"]})
    cache = tmp_path / "node" / "cache"
    ra = materialise(store, "shotA", str(tmp_path / "node" / "s1"), cache_dir=str(cache))
    rb = materialise(store, "shotB", str(tmp_path / "node" / "s2"), cache_dir=str(cache))
    unique = set(a.blobs()) | set(b.blobs())
    assert store.gets() == len(unique) == 6  # floor and floor_copy share a blob; wall is shared by both jobs
    assert all(n == 1 for (op, k), n in store.calls.items() if op in GETS and k.startswith("cas/"))
    assert (ra.blobs_fetched, ra.blobs_cached) == (3, 0)
    assert (rb.blobs_fetched, rb.blobs_cached) == (3, 1)
    assert ra.linked == 4 and rb.linked == 4 and ra.copied == rb.copied == 0
    for rep, m in ((ra, a), (rb, b)):
        for e in m.files:
            placed = Path(rep.session) / e.root / e.path
            assert placed.read_bytes() == (studio[e.root] / e.path).read_bytes()
            assert placed.stat().st_ino == NodeCache(str(cache)).blob_path(e.hash).stat().st_ino
            assert placed.stat().st_mtime_ns == e.mtime_ns or e.hash in a.blobs()  # first path's mtime kept
    s2 = Path(rb.session)
    assert (s2 / "gs/tex/wall.exr").stat().st_ino == (Path(ra.session) / "gs/tex/wall.exr").stat().st_ino
    assert dict(rb.rules) == {str(studio["gs"]): str(s2 / "gs"), str(studio["lib"]): str(s2 / "lib")}
    assert cache_is_consistent(cache) == 6


def test_materialising_again_is_free(tmp_path, studio):
    store = CountingBackend(str(tmp_path / "store"))
    publish_job(store, "shotA", studio, {"gs": ["tex/wall.exr", "geo/set.abc"]})
    kw = dict(cache_dir=str(tmp_path / "cache"))
    materialise(store, "shotA", str(tmp_path / "s"), **kw)
    again = materialise(store, "shotA", str(tmp_path / "s"), **kw)  # a DAG retry on the same node
    assert store.gets() == 2 and again.blobs_fetched == 0 and again.linked == 0 and again.files == 2


def test_corrupt_blob_is_refused_and_never_cached(tmp_path, studio):
    store = LocalBackend(str(tmp_path / "store"))
    m = publish_job(store, "shotA", studio, {"gs": ["tex/wall.exr", "tex/wall.tx"]})
    bad = m.files[0].hash
    blob = tmp_path / "store" / blob_key(bad)
    data = bytearray(blob.read_bytes())
    data[100] ^= 0xFF  # same size, one flipped byte
    blob.write_bytes(bytes(data))
    cache = tmp_path / "cache"
    with pytest.raises(StoreError, match=f"cas/{bad}: corrupt blob") as info:
        materialise(store, "shotA", str(tmp_path / "s"), cache_dir=str(cache), threads=1)
    assert "\n" not in info.value.message
    assert not NodeCache(str(cache)).blob_path(bad).exists()
    cache_is_consistent(cache)
    assert not (tmp_path / "s").exists()  # nothing linked from a job whose inputs are not all good


CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from support.storetools import CountingBackend
from cloudsubmit.store.materialise import materialise
store = CountingBackend(sys.argv[2])
rep = materialise(store, "shotA", sys.argv[3], cache_dir=sys.argv[4], threads=4)
print(json.dumps({"gets": store.gets(), "fetched": rep.blobs_fetched, "files": rep.files}))
"""


def test_four_processes_share_one_consistent_cache(tmp_path, studio):
    files = {f"seq/frame.{i:04d}.exr": payload(100 + i, 20000 + i) for i in range(40)}
    write_tree(studio["gs"], files)
    store = LocalBackend(str(tmp_path / "store"))
    m = publish_job(store, "shotA", studio, {"gs": sorted(files)})
    cache = tmp_path / "cache"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [
        subprocess.Popen([sys.executable, "-c", CHILD, str(REPO / "tests"), str(tmp_path / "store"),
                          str(tmp_path / f"slot{n}"), str(cache)], stdout=subprocess.PIPE, text=True, env=env)
        for n in range(4)
    ]
    results = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(r["gets"] for r in results) == len(m.blobs()) == 40  # the lock: each blob fetched once
    assert sum(r["fetched"] for r in results) == 40 and all(r["files"] == 40 for r in results)
    assert cache_is_consistent(cache) == 40
    for n in range(4):
        for rel, data in files.items():
            assert (tmp_path / f"slot{n}" / "gs" / rel).read_bytes() == data


def test_copy_when_cache_is_on_another_filesystem(tmp_path, studio):
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second filesystem to link across")
    cache = shm / f"cs-test-{os.getpid()}-{tmp_path.name}"
    try:
        store = LocalBackend(str(tmp_path / "store"))
        publish_job(store, "shotA", studio, {"gs": ["tex/wall.exr"]})
        rep = materialise(store, "shotA", str(tmp_path / "s"), cache_dir=str(cache))
        assert (rep.linked, rep.copied) == (0, 1)
        assert (tmp_path / "s/gs/tex/wall.exr").read_bytes() == payload(1)
    finally:
        import shutil
        shutil.rmtree(cache, ignore_errors=True)


def test_cancel_leaves_no_partial_blob_and_no_session(tmp_path, studio):
    store = SlowBackend(str(tmp_path / "store"))
    publish_job(store, "shotA", studio, {"gs": ["tex/wall.exr", "tex/wall.tx", "geo/set.abc"]})
    seen = []

    def progress(rep):
        seen.append(rep)
        return rep.bytes_done == 0  # stop as soon as bytes move

    with pytest.raises(Cancelled):
        materialise(store, "shotA", str(tmp_path / "s"), cache_dir=str(tmp_path / "cache"), progress=progress)
    assert seen and seen[-1].stage == "download"
    cache_is_consistent(tmp_path / "cache")
    assert not (tmp_path / "s").exists()


def test_transient_errors_are_retried_without_double_counting():
    calls = []

    def flaky(on_bytes):
        calls.append(1)
        on_bytes(10)
        if len(calls) < 3:
            raise mark_transient(StoreError("throttled"))
        return "ok"

    summary = run_transfers([TransferItem("k", 10, flaky)], attempts=3, backoff=0.01)
    assert summary.results == ["ok"] and summary.retries == 2 and summary.bytes == 10

    def broken(on_bytes):
        calls.append(1)
        raise StoreError("no such bucket")

    calls.clear()
    with pytest.raises(StoreError, match="no such bucket"):
        run_transfers([TransferItem("k", 1, broken)], attempts=5, backoff=0.01)
    assert len(calls) == 1  # a permanent error is not retried


def test_mapping_rules_for_windows_and_nested_roots():
    rules = session_rules({"gs": "Z:\\", "proj": "/gs/proj", "top": "/gs/"}, "/scratch/s")
    assert rules == [("/gs/proj", "/scratch/s/proj"), ("/gs", "/scratch/s/top"), ("Z:/", "/scratch/s/gs/")]
    assert map_path("z:\\tex\\a.exr", rules) == "/scratch/s/gs/tex/a.exr"
    assert map_path("/gs/proj/shot/a.abc", rules) == "/scratch/s/proj/shot/a.abc"
    assert map_path("/gs/other/b.abc", rules) == "/scratch/s/top/other/b.abc"
    assert map_path("/gsx/b.abc", rules) == "/gsx/b.abc"


def test_materialise_job_takes_cache_and_layout_from_config(tmp_path, studio):
    from cloudsubmit.config import load_config
    from cloudsubmit.store.layouts import materialise_job

    store = LocalBackend(str(tmp_path / "store"))
    m = publish_job(store, "shotA", studio, {"gs": ["tex/wall.exr"]})
    cfg = load_config(overrides={"store.transfer.node_cache": str(tmp_path / "nodecache")}, env={})
    rep = materialise_job(store, "shotA", str(tmp_path / "s"), cfg)
    assert rep.linked == 1 and NodeCache(str(tmp_path / "nodecache")).has(m.files[0].hash, m.files[0].size)


def test_prune_keeps_what_sessions_use(tmp_path, studio):
    from cloudsubmit.store.materialise import remove_session

    store = CountingBackend(str(tmp_path / "store"))
    a = publish_job(store, "shotA", studio, {"gs": ["tex/wall.exr", "geo/set.abc"]})
    b = publish_job(store, "shotB", studio, {"gs": ["tex/wall.exr", "geo/hero.abc"]})
    cache = NodeCache(str(tmp_path / "cache"))
    materialise(store, "shotA", str(tmp_path / "s1"), cache_dir=str(cache.root))
    materialise(store, "shotB", str(tmp_path / "s2"), cache_dir=str(cache.root))
    assert cache.prune(0) == (0, 0)  # every blob is linked from a live session
    remove_session(str(tmp_path / "s1"))
    assert not (tmp_path / "s1").exists()
    set_abc = a.files[0] if a.files[0].path == "geo/set.abc" else a.files[1]
    assert cache.prune(10 ** 9) == (0, 0)  # under the limit: nothing to do
    assert cache.prune(0) == (1, set_abc.size)  # only shotA's own blob went; wall.exr is B's too
    assert not cache.has(set_abc.hash, set_abc.size)
    assert all(cache.has(h, s) for h, s in b.blobs().items())
    again = materialise(store, "shotA", str(tmp_path / "s3"), cache_dir=str(cache.root), max_cache_bytes=1)
    assert again.blobs_fetched == 1 and (tmp_path / "s3/gs/geo/set.abc").read_bytes() == payload(4, 50000)


KILLED_CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
from support.storetools import SlowBackend
from cloudsubmit.store.materialise import materialise
SlowBackend.steps = 20
materialise(SlowBackend(sys.argv[2]), "shotA", sys.argv[3], cache_dir=sys.argv[4], threads=2)
"""


def test_killed_materialise_resumes_without_refetching(tmp_path, studio, monkeypatch):
    import signal
    import time

    files = {f"seq/f.{i:04d}.exr": payload(500 + i, 8000) for i in range(16)}
    write_tree(studio["gs"], files)
    store = CountingBackend(str(tmp_path / "store"))
    publish_job(store, "shotA", studio, {"gs": sorted(files)})
    cache = tmp_path / "cache"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, str(REPO / "tests"), str(tmp_path / "store"),
                              str(tmp_path / "s"), str(cache)], env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len([p for p in cache.glob("??/*") if not p.name.startswith(".tmp-")]) < 3:
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    done_before = [p for p in cache.glob("??/*") if not p.name.startswith(".tmp-")]
    assert 3 <= len(done_before) < 16
    rep = materialise(store, "shotA", str(tmp_path / "s"), cache_dir=str(cache))  # locks died with the child
    assert rep.blobs_fetched == 16 - len(done_before) == store.gets()
    for rel, data in files.items():
        assert (tmp_path / "s/gs" / rel).read_bytes() == data
    for p in cache.glob("??/*"):
        assert p.name.startswith(".tmp-") or hash_file(str(p)) == p.name
    (cache / "ab").mkdir(exist_ok=True)
    (cache / "ab" / ".tmp-abandoned").write_bytes(b"half a blob")  # what a kill can leave
    monkeypatch.setattr("cloudsubmit.store.materialise._STALE_TEMP_S", -60)  # ctime cannot be set back
    assert NodeCache(str(cache)).prune(10 ** 12) == (0, 0)
    assert not list(cache.glob("??/.tmp-*")) and len(list(cache.glob("??/*"))) == 16


def test_materialise_command_prints_rules(cli, tmp_path, studio):
    store = LocalBackend(str(tmp_path / "store"))
    publish_job(store, "shotA", studio, {"gs": ["tex/wall.exr"], "lib": ["hdri/sky.hdr"]})
    url = "file://" + (tmp_path / "store").as_posix()
    session = tmp_path / "session"
    res = cli("materialise", "shotA", "--session", str(session), "--cache", str(tmp_path / "cache"),
              "--store", url, "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert sorted(map(tuple, out["rules"])) == sorted([(str(studio["gs"]), str(session / "gs")),
                                                      (str(studio["lib"]), str(session / "lib"))])
    assert out["blobs_fetched"] == 2 and (session / "lib/hdri/sky.hdr").read_bytes() == payload(6)
    res = cli("materialise", "nojob", "--session", str(session), "--store", url)
    assert res.returncode == 1 and res.stderr.count("\n") == 1 and "jobs/nojob/inputs.json" in res.stderr


def test_over_s3_each_blob_once_and_corruption_refused(tmp_path, studio, s3_bucket, s3_server):
    from support.storetools import counting_s3

    store = counting_s3(f"s3://{s3_bucket}/team")
    a = publish_job(store, "shotA", studio, {"gs": ["tex/wall.exr", "tex/floor.exr", "tex/floor_copy.exr", "geo/set.abc"]})
    b = publish_job(store, "shotB", studio, {"gs": ["tex/wall.exr", "geo/hero.abc"], "lib": ["hdri/sky.hdr"]})
    cache = tmp_path / "cache"
    ra = materialise(store, "shotA", str(tmp_path / "s1"), cache_dir=str(cache))
    rb = materialise(store, "shotB", str(tmp_path / "s2"), cache_dir=str(cache))
    assert store.gets() == len(set(a.blobs()) | set(b.blobs())) == 5
    for rep, m in ((ra, a), (rb, b)):
        for e in m.files:
            placed = Path(rep.session) / e.root / e.path
            assert placed.read_bytes() == (studio[e.root] / e.path).read_bytes()
            assert placed.stat().st_ino == NodeCache(str(cache)).blob_path(e.hash).stat().st_ino
    # Someone overwrites a blob in the bucket behind cloudsubmit's back: a fresh node refuses it.
    victim = b.files[0].hash
    s3_server.client().put_object(Bucket=s3_bucket, Key=f"team/cas/{victim}", Body=b"x" * b.files[0].size)
    with pytest.raises(StoreError, match=f"cas/{victim}: corrupt blob"):
        materialise(store, "shotB", str(tmp_path / "s3"), cache_dir=str(tmp_path / "fresh"))
    assert not NodeCache(str(tmp_path / "fresh")).blob_path(victim).exists()
    cache_is_consistent(tmp_path / "fresh")


def test_cancel_over_s3_leaves_nothing_partial(tmp_path, s3_bucket):
    from support.storetools import counting_s3

    gs = write_tree(tmp_path / "gs", {f"sim.{i}.bgeo": os.urandom(9 << 20) for i in range(3)})  # streamed: > 8 MiB
    store = counting_s3(f"s3://{s3_bucket}/team")
    publish_job(store, "shotA", {"gs": gs}, {"gs": [f"sim.{i}.bgeo" for i in range(3)]})
    with pytest.raises(Cancelled):
        materialise(store, "shotA", str(tmp_path / "s"), cache_dir=str(tmp_path / "cache"), threads=3,
                    progress=lambda rep: rep.bytes_done == 0)
    cache_is_consistent(tmp_path / "cache")
    assert not (tmp_path / "s").exists()


def test_default_node_cache_is_in_the_user_cache(monkeypatch, tmp_path):
    from cloudsubmit.config import load_config
    from cloudsubmit.store.materialise import node_cache_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert node_cache_dir(load_config(env={})) == str(tmp_path / "xdg" / "cloudsubmit" / "blobs")
    assert node_cache_dir(load_config(overrides={"store.transfer.node_cache": "/scratch/blobs"}, env={})) == "/scratch/blobs"
