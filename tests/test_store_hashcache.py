"""The per-machine hash cache: real SQLite files, real file stats, several processes at once."""
from __future__ import annotations

import multiprocessing
import os

from cloudsubmit.store.hashcache import FileStat, HashCache


def test_hit_only_when_size_mtime_and_inode_match(tmp_path):
    f = tmp_path / "tex.exr"
    f.write_bytes(b"a" * 100)
    cache = HashCache(str(tmp_path / "h.sqlite"))
    st = FileStat.of(str(f))
    cache.put_many([(st, "h1")])
    assert cache.lookup([st]) == {str(f): "h1"}
    assert cache.lookup([st._replace(size=101)]) == {}
    assert cache.lookup([st._replace(mtime_ns=st.mtime_ns + 1)]) == {}
    assert cache.lookup([st._replace(inode=st.inode + 1)]) == {}
    with open(f, "rb"):  # held open, so the old inode cannot be reused by the replacement
        new = tmp_path / "tex.new"
        new.write_bytes(b"b" * 100)
        os.replace(new, f)  # same path, size and mtime; another file (an artist's "save as")
        os.utime(f, ns=(st.mtime_ns, st.mtime_ns))
        again = FileStat.of(str(f))
        assert (again.size, again.mtime_ns) == (st.size, st.mtime_ns) and again.inode != st.inode
        assert cache.lookup([again]) == {}


def test_bulk_lookup_of_thousands(tmp_path):
    cache = HashCache(str(tmp_path / "h.sqlite"))
    stats = [FileStat(f"/gs/f{i}", i, i * 10, i) for i in range(5000)]
    cache.put_many((s, f"{i:032x}") for i, s in enumerate(stats))
    found = cache.lookup(stats + [FileStat("/gs/absent", 1, 1, 1)])
    assert len(found) == 5000 and found["/gs/f4999"] == f"{4999:032x}"
    reopened = HashCache(str(tmp_path / "h.sqlite"))
    assert len(reopened.lookup(stats)) == 5000


def _writer(path, worker):
    cache = HashCache(path)
    for batch in range(20):
        cache.put_many((FileStat(f"/w{worker}/f{batch}_{i}", i, i, i), f"{worker}-{batch}-{i}") for i in range(50))
        cache.lookup([FileStat(f"/w{(worker + 1) % 6}/f0_0", 0, 0, 0)])


def test_six_processes_write_at_once(tmp_path):
    path = str(tmp_path / "h.sqlite")
    HashCache(path).close()
    procs = [multiprocessing.get_context("spawn").Process(target=_writer, args=(path, w)) for w in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    stats = [FileStat(f"/w{w}/f{b}_{i}", i, i, i) for w in range(6) for b in range(20) for i in range(50)]
    assert len(HashCache(path).lookup(stats)) == 6000


def test_a_corrupt_cache_file_is_set_aside_and_rebuilt(tmp_path):
    path = tmp_path / "h.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    cache = HashCache(str(path))
    st = FileStat("/x", 1, 2, 3)
    cache.put_many([(st, "abc")])
    assert cache.lookup([st]) == {"/x": "abc"}
    assert (tmp_path / "h.sqlite.corrupt").exists()
