"""Small files in packs, against a directory store and S3 (moto): few requests up, dedup per
file, a teammate sends nothing, a node reads a pack once or by ranges and verifies every file,
a killed upload never leaves an entry pointing at a pack that is not whole, and verify, gc,
repair and --recheck understand packs."""
from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from cloudsubmit.errors import StoreError
from cloudsubmit.store import open_store, resolve, upload
from cloudsubmit.store.hashing import hash_bytes
from cloudsubmit.store.index import FORMAT_PACKED
from cloudsubmit.store.manifest import Manifest, inputs_manifest, write_inputs
from cloudsubmit.store.materialise import materialise
from cloudsubmit.store.opener import Store
from cloudsubmit.store.upload import UploadRefused, recheck_in_store
from support.store_fixtures import blob_keys, cli_env, machine_config, make_files, store_url  # noqa: F401
from support.storetools import CountingBackend, counting_s3

PACKED = {"store.packs.pack_mb": 1, "store.packs.min_files": 8}  # two packs from ~1 MB of small files
SMALL = {f"tex/t{i:03d}.tx": 2_000 + 600 * i for i in range(60)}  # 1.18 MB


def counted(url: str, tmp: Path, name: str, **extra) -> Store:
    """A store opened through a backend that counts every call (a subclass of the real one)."""
    backend = counting_s3(url) if url.startswith("s3://") else CountingBackend(url[len("file://"):])
    return Store(backend, machine_config(tmp, name, None, **dict(PACKED, **extra)))


def shot(tmp: Path) -> list:
    paths = make_files(tmp / "proj", SMALL) + make_files(tmp / "proj", {"geo/big.abc": 1_200_000})
    shutil.copyfile(tmp / "proj/tex/t000.tx", tmp / "proj/tex/dup.tx")  # same bytes, another path
    return paths + [str(tmp / "proj/tex/dup.tx")]


def pack_keys(store) -> list:
    return [k for k, _ in store.backend.list("packs/")]


def published(store, paths, job="shot010", keep=None) -> Manifest:
    res = resolve(paths, store)
    files = [f for f in res.files if keep is None or Path(f.path).name in keep]
    m = inputs_manifest(job, files, locate=store.index.location)
    write_inputs(store.backend, m)
    return m


def test_small_files_go_up_in_packs_and_a_teammate_sends_nothing(store_url, tmp_path):
    paths = shot(tmp_path)
    a = counted(store_url, tmp_path, "a")
    rep = upload(resolve(paths, a), a)
    assert (rep.uploaded_files, rep.skipped_files) == (61, 1)  # the duplicate is sent once
    packs = pack_keys(a)
    puts = sum(n for (op, _k), n in a.backend.calls.items() if op == "put_fileobj")
    assert len(packs) == 2 and puts == 3  # 60 small files in 2 packs, the big one as its own blob
    assert len(blob_keys(a)) == 1
    fresh = open_store(store_url, machine_config(tmp_path, "fresh"))
    for p in paths:
        data = Path(p).read_bytes()
        if len(data) < 1024 * 1024:
            pack, offset = fresh.index.location(hash_bytes(data))
            assert f"packs/{pack}.pack" in packs
            assert fresh.backend.get_bytes(f"packs/{pack}.pack")[offset:offset + len(data)] == data
    for key in packs:  # content-addressed: a pack is named by the hash of all its bytes
        assert hash_bytes(fresh.backend.get_bytes(key)) == key[len("packs/"):-len(".pack")]
    shutil.copytree(tmp_path / "proj", tmp_path / "copy")
    b = counted(store_url, tmp_path, "b")
    rep_b = upload(resolve([p.replace("/proj/", "/copy/") for p in paths], b), b)
    assert (rep_b.uploaded_files, rep_b.uploaded_bytes, rep_b.indexed_files) == (0, 0, 62)
    assert pack_keys(b) == packs
    assert not [k for (op, k) in b.backend.calls if op == "put_fileobj"]  # only the index shard was written
    again = open_store(store_url, machine_config(tmp_path, "again"))
    copy = hash_bytes((tmp_path / "copy/tex/t010.tx").read_bytes())
    assert again.index.location(copy) == fresh.index.location(copy)


def test_a_node_reads_each_pack_once_or_only_the_ranges_it_needs(store_url, tmp_path):
    paths = shot(tmp_path)
    a = counted(store_url, tmp_path, "a")
    upload(resolve(paths, a), a)
    m = published(a, paths)
    assert json.loads(m.to_bytes())["version"] == 2
    node = counted(store_url, tmp_path, "node")
    rep = materialise(node.backend, "shot010", str(tmp_path / "s1"), cache_dir=str(tmp_path / "cache"))
    assert rep.pack_reads == len(node.backend.ranges) == 2  # the whole job needs both packs: one read each
    assert node.backend.gets("cas/") == 1 and rep.blobs_fetched == 61 and rep.files == 62
    for p in paths:
        rel = Path(p).relative_to("/")
        assert (tmp_path / "s1" / "_posix" / rel).read_bytes() == Path(p).read_bytes()
    few = {"t003.tx", "t030.tx", "t058.tx"}
    published(a, paths, job="comp", keep=few)
    node2 = counted(store_url, tmp_path, "node2")
    rep2 = materialise(node2.backend, "comp", str(tmp_path / "s2"), cache_dir=str(tmp_path / "cache2"),
                       range_gap=0)
    sizes = {SMALL[f"tex/{n}"] for n in few}
    assert rep2.pack_reads == 3 and sorted(n for _k, _o, n in node2.backend.ranges) == sorted(sizes)
    assert sum(n for _k, _o, n in node2.backend.ranges) < 0.1 * 1024 * 1024  # not the packs' megabytes


def _tamper(store, key: str, at: int) -> None:
    """Flip one byte of an object the way each backend can be damaged: in place on disk, or a
    rewritten object in the bucket."""
    data = bytearray(store.backend.get_bytes(key))
    data[at] ^= 0xFF
    if store.url.startswith("s3://"):
        store.backend.put_bytes(key, bytes(data))
    else:
        path = Path(store.url[len("file://"):]) / key
        path.write_bytes(bytes(data))


def test_a_damaged_pack_is_refused_on_the_node_found_by_verify_and_resent_by_recheck(store_url, tmp_path):
    paths = shot(tmp_path)
    a = counted(store_url, tmp_path, "a")
    upload(resolve(paths, a), a)
    victim = hash_bytes((tmp_path / "proj/tex/t020.tx").read_bytes())
    pack, offset = a.index.location(victim)
    _tamper(a, f"packs/{pack}.pack", offset + 7)
    published(a, paths)
    with pytest.raises(StoreError, match=rf"packs/{pack}\.pack at {offset}: corrupt pack, these bytes hash to"):
        materialise(a.backend, "shot010", str(tmp_path / "s1"), cache_dir=str(tmp_path / "cache"), threads=1)
    cached = [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and p.parent.name != "locks"]
    assert victim not in {p.name for p in cached} and not [p for p in cached if p.name.startswith(".tmp-")]
    assert a.index.verify().ok  # sizes only: the same length
    deep = a.index.verify(deep=True)
    assert not deep.ok and deep.packs == 2
    assert deep.bad_packs == [f"packs/{pack}.pack: 1 of {sum(1 for p in a.index.packed().values() if p[0] == pack)}"
                              f" indexed files hash otherwise (first: {victim})"]
    res = resolve(paths, a, trust_team=False)
    assert recheck_in_store(res, a) == {victim}
    upload(res, a, force={victim})
    b = open_store(store_url, machine_config(tmp_path, "b", **PACKED))
    assert b.index.location(victim) is None  # re-sent alone: its own blob now, the latest entry says so
    assert b.index.verify(deep=True).ok
    published(b, paths, job="retry")
    rep = materialise(b.backend, "retry", str(tmp_path / "s2"), cache_dir=str(tmp_path / "cache"))
    assert rep.files == 62


def test_a_file_that_changes_before_it_is_packed_is_refused_and_the_rest_go(store_url, tmp_path):
    paths = shot(tmp_path)
    a = counted(store_url, tmp_path, "a")
    res = resolve(paths, a)
    changed = tmp_path / "proj/tex/t011.tx"
    changed.write_bytes(b"x" * changed.stat().st_size)  # same size, other bytes, new mtime
    with pytest.raises(UploadRefused) as err:
        upload(res, a)
    assert [r["path"] for r in err.value.report.refused] == [str(changed)]
    b = open_store(store_url, machine_config(tmp_path, "b"))
    indexed = {e.path for e in b.index.entries()}
    assert str(changed).lstrip("/") not in indexed and len(indexed) == 61
    assert b.index.verify(deep=True).ok


def test_a_member_larger_than_a_block_is_copied_whole_and_one_that_changes_mid_copy_is_cut_out(store_url, tmp_path):
    """Members go into the pack in 1 MiB blocks. A 2.5 MB member that turns out to hold other
    bytes at its last block (same size and mtime: only its hash tells) has had two blocks
    copied already: they are cut off again, the pack holds the other members only and is
    named by exactly its bytes, and a node gets every packed file intact."""
    big = {f"tex/big{i}.tx": 2_500_000 + i for i in range(3)}
    paths = make_files(tmp_path / "proj", dict(SMALL, **big))
    a = counted(store_url, tmp_path, "a", **{"store.packs.pack_mb": 16, "store.packs.max_file_kb": 4096})
    res = resolve(paths, a)
    sly = tmp_path / "proj/tex/big1.tx"
    st = sly.stat()
    with open(sly, "r+b") as f:  # other bytes at the end, same size
        f.seek(st.st_size - 10)
        f.write(b"0123456789")
    os.utime(sly, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the mtime it was hashed with
    with pytest.raises(UploadRefused) as err:
        upload(res, a)
    assert [r["path"] for r in err.value.report.refused] == [str(sly)]
    (key,) = pack_keys(a)  # one pack, the 62 sound members
    fresh = open_store(store_url, machine_config(tmp_path, "fresh"))
    data = fresh.backend.get_bytes(key)
    assert hash_bytes(data) == key[len("packs/"):-len(".pack")]
    assert len(data) == sum(SMALL.values()) + 2_500_000 + 2_500_002
    assert fresh.index.verify(deep=True).ok
    keep = [p for p in paths if p != str(sly)]
    published(fresh, keep)
    rep = materialise(fresh.backend, "shot010", str(tmp_path / "s"), cache_dir=str(tmp_path / "cache"))
    assert rep.files == len(keep) and rep.pack_reads == 1
    for p in keep:
        assert (tmp_path / "s" / "_posix" / Path(p).relative_to("/")).read_bytes() == Path(p).read_bytes()


_KILLER = """
import json, os, sys
from cloudsubmit.config import load_config
from cloudsubmit.store import open_store, resolve, upload
url, cache, where, paths = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
store = open_store(url, load_config(overrides={"store.hash_cache": cache, "store.packs.pack_mb": 1,
                                              "store.packs.min_files": 8, "store.transfer.threads": 1}))
backend, put_bytes, put_fileobj = store.backend, store.backend.put_bytes, store.backend.put_fileobj
def dying_put_bytes(key, data, **kw):  # the index shard comes after every pack: die just before it
    if key.startswith("index/") and where == "before-shard":
        os._exit(137)
    return put_bytes(key, data, **kw)
def dying_put_fileobj(key, fileobj, **kw):  # die with half of the first pack written
    if key.startswith("packs/") and where == "mid-pack":
        class Half:
            def read(self, n=-1):
                data = fileobj.read(n)
                if fileobj.tell() > kw["size"] // 2:
                    os._exit(137)
                return data
        return put_fileobj(key, Half(), **kw)
    return put_fileobj(key, fileobj, **kw)
backend.put_bytes, backend.put_fileobj = dying_put_bytes, dying_put_fileobj
upload(resolve(paths, store), store)
"""


@pytest.mark.parametrize("where", ["before-shard", "mid-pack"])
def test_a_killed_upload_leaves_no_entry_for_a_pack_and_gc_removes_what_it_left(store_url, tmp_path, where, cli):
    if where == "mid-pack" and store_url.startswith("s3://"):
        pytest.skip("an S3 PUT cut short stores nothing: nothing of ours to test")
    paths = shot(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", _KILLER, store_url, str(tmp_path / "k.sqlite"), where,
                           json.dumps(paths)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 137, proc.stderr
    b = open_store(store_url, machine_config(tmp_path, "b"))
    assert b.index.entries() == []  # no entry names a pack, whole or not
    left = pack_keys(b)
    assert len(left) == (2 if where == "before-shard" else 0)
    res = cli("index", "gc", "--older-than", "0", "--json", env=cli_env(store_url, tmp_path, "b"))
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["orphan_packs"] == len(left) and pack_keys(b) == []
    if where == "mid-pack":  # the directory store's temp file of the pack cut short
        assert [n for n in out["removed"] if n.startswith("packs/.tmp-")]
    a = counted(store_url, tmp_path, "a")
    upload(resolve(paths, a), a)
    published(a, paths)
    assert materialise(a.backend, "shot010", str(tmp_path / "s"), cache_dir=str(tmp_path / "c")).files == 62
    assert cli("index", "gc", "--older-than", "0", "--json",
               env=cli_env(store_url, tmp_path, "b")).returncode == 0 and len(pack_keys(a)) == 2  # named: kept


def test_repair_keeps_the_pack_locations_of_a_damaged_shards_sound_entries(store_url, tmp_path):
    paths = shot(tmp_path)
    a = counted(store_url, tmp_path, "a")
    shard = upload(resolve(paths, a), a).shard
    doc = json.loads(gzip.decompress(a.backend.get_bytes(shard)))
    assert doc["format"] == FORMAT_PACKED
    doc["entries"].append(dict(doc["entries"][0], path="bad/one.tx", pack="not-a-pack"))
    a.backend.put_bytes(shard, gzip.compress(json.dumps(doc).encode()))
    b = open_store(store_url, machine_config(tmp_path, "b"))
    b.index.refresh()
    assert "1 bad entries left out, entry 62: pack is not a 32-digit lowercase hex pack id" in b.index.problems[shard]
    located = b.index.packed()
    assert len(located) == 60
    rep = b.index.repair()
    assert rep.quarantined == [shard] and len(rep.rewritten) == 1
    c = open_store(store_url, machine_config(tmp_path, "c"))
    assert not c.index.problems and c.index.packed() == located
    published(c, paths)
    assert materialise(c.backend, "shot010", str(tmp_path / "s"), cache_dir=str(tmp_path / "n")).files == 62


def test_few_small_files_or_packs_off_send_blobs_as_before(store_url, tmp_path):
    paths = make_files(tmp_path / "few", {f"f{i}.tx": 1_000 + i for i in range(5)})
    a = counted(store_url, tmp_path, "a")
    upload(resolve(paths, a), a)
    assert pack_keys(a) == [] and len(blob_keys(a)) == 5
    more = make_files(tmp_path / "many", {f"g{i}.tx": 1_000 + i for i in range(40)})
    off = counted(store_url, tmp_path, "off", **{"store.packs.max_file_kb": 0})
    upload(resolve(more, off), off)
    assert pack_keys(off) == [] and len(blob_keys(off)) == 45


def test_manifest_names_packs_only_when_it_needs_to(tmp_path):
    from cloudsubmit.store.manifest import ManifestEntry

    plain = Manifest("j", {"gs": "/gs"}, [ManifestEntry("gs", "a.tx", "a" * 32, 3)])
    assert json.loads(plain.to_bytes())["version"] == 1 and "pack" not in plain.to_bytes().decode()
    packed = Manifest("j", {"gs": "/gs"}, [ManifestEntry("gs", "a.tx", "a" * 32, 3, 0, "b" * 32, 40)])
    back = Manifest.from_bytes(packed.to_bytes())
    assert back.places() == {"a" * 32: ("b" * 32, 40)} and back.to_bytes() == packed.to_bytes()
    bad = packed.to_bytes().replace(b'"offset":40', b'"offset":-1')
    with pytest.raises(StoreError, match=r"entry gs/a.tx: invalid pack '[b]{32}' or offset -1") as err:
        Manifest.from_bytes(bad, "jobs/j/inputs.json")
    assert err.value.exit_code == 2


def test_the_mirror_layout_never_packs(tmp_path):
    """Packs are a ``cas`` layout feature: a mirror bucket holds every file under its own path."""
    from cloudsubmit.store.layouts import resolve_inputs, send_inputs

    bucket = tmp_path / "bucket"
    bucket.mkdir()
    cfg = machine_config(tmp_path, "m", {"gs": str(tmp_path / "gs")}, **dict(
        PACKED, **{"store.layout": "mirror", "store.mirror.mount": str(bucket), "store.mirror.prefixes": {"gs": ""}}))
    paths = make_files(tmp_path / "gs", {f"tex/m{i:02d}.tx": 1_000 + i for i in range(40)})
    store = open_store(bucket.as_uri(), cfg)
    sent = send_inputs(resolve_inputs(paths, store), store)
    assert sent.uploaded_files == 40 and pack_keys(store) == [] and not store.index.packed()
    assert (bucket / "tex/m07.tx").read_bytes() == Path(paths[7]).read_bytes()
