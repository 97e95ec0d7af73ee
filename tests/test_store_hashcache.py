"""The per-machine hash cache: real SQLite files, real file stats, several processes at once."""
from __future__ import annotations

import multiprocessing
import sqlite3
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


def _run_writers(tmp_path, writer, count):
    """``count`` processes running ``writer(path, worker)`` at once on one new cache file."""
    path = str(tmp_path / "h.sqlite")
    HashCache(path).close()
    procs = [multiprocessing.get_context("spawn").Process(target=writer, args=(path, w)) for w in range(count)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    return path


def test_six_processes_write_at_once(tmp_path):
    path = _run_writers(tmp_path, _writer, 6)
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


def test_entries_are_kept_per_folder_and_never_mix(tmp_path):
    """One row per folder: the same name in two folders, a folder whose name extends another's,
    and a file at the top level keep their own hashes; writing one folder leaves the others."""
    files = {}
    for rel in ("shot/a/tex.exr", "shot/b/tex.exr", "shot/a b/tex.exr", "shot/a/sub/tex.exr", "top.exr"):
        f = tmp_path / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(rel.encode())
        files[rel] = FileStat.of(str(f))
    cache = HashCache(str(tmp_path / "h.sqlite"))
    cache.put_many((st, f"{i:032x}") for i, st in enumerate(files.values()))
    want = {st.path: f"{i:032x}" for i, st in enumerate(files.values())}
    assert cache.lookup(list(files.values())) == want
    cache.put_many([(files["shot/a/tex.exr"], "f" * 32)])
    assert cache.lookup(list(files.values())) == dict(want, **{files["shot/a/tex.exr"].path: "f" * 32})
    assert cache.lookup([files["shot/b/tex.exr"]._replace(path=str(tmp_path / "shot/c/tex.exr"))]) == {}


def test_a_changed_file_is_never_served_from_its_old_entry(tmp_path):
    """Per folder or not, an entry answers only the version it was written for: a new size, a
    new mtime or another inode misses (hashed entries); a new ctime too (probed entries)."""
    f = tmp_path / "shot" / "tex.exr"
    f.parent.mkdir()
    f.write_bytes(b"a" * 100)
    st = FileStat.of(str(f))
    other = FileStat.of(str(_neighbour(tmp_path)))
    cache = HashCache(str(tmp_path / "h.sqlite"))
    cache.put_many([(st, "h1"), (other, "h9")])
    cache.put_probed([(st, "h2", "p2"), (other, "h8", "p8")])
    for changed in (st._replace(size=101), st._replace(mtime_ns=st.mtime_ns + 1), st._replace(inode=st.inode + 1)):
        assert cache.lookup([changed, other]) == {other.path: "h9"}
        assert cache.probed([changed, other]) == {other.path: ("h8", "p8")}
    assert cache.probed([st._replace(ctime_ns=st.ctime_ns + 1)]) == {}
    assert cache.lookup([st._replace(ctime_ns=st.ctime_ns + 1)]) == {st.path: "h1"}  # hashed: ctime is no key
    f.write_bytes(b"b" * 200)  # really rewritten: nothing of the old version answers
    assert cache.lookup([FileStat.of(str(f))]) == {} and cache.probed([FileStat.of(str(f))]) == {}


def _neighbour(tmp_path):
    g = tmp_path / "shot" / "other.exr"
    g.write_bytes(b"o" * 10)
    return g


def test_hashed_and_probed_stay_apart_in_one_folder_row(tmp_path):
    """A probed entry is never a lookup hit; a hash recorded here drops the probed entry of
    that file only."""
    f, g = tmp_path / "a.exr", tmp_path / "b.exr"
    f.write_bytes(b"a")
    g.write_bytes(b"b")
    sf, sg = FileStat.of(str(f)), FileStat.of(str(g))
    cache = HashCache(str(tmp_path / "h.sqlite"))
    cache.put_probed([(sf, "hf", "pf"), (sg, "hg", "pg")])
    assert cache.lookup([sf, sg]) == {} and cache.probed([sf, sg]) == {sf.path: ("hf", "pf"), sg.path: ("hg", "pg")}
    cache.put_many([(sf, "own")])
    assert cache.lookup([sf, sg]) == {sf.path: "own"} and cache.probed([sf, sg]) == {sg.path: ("hg", "pg")}
    assert cache.known([sf, sg]) == ({sf.path: "own"}, {sg.path: ("hg", "pg")})  # one read, two answers
    assert cache.known([sf, sg], probed=False) == ({sf.path: "own"}, {})


def _old_layout(path, hashed, probed):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE hashes (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, "
               "inode INTEGER NOT NULL, hash TEXT NOT NULL) WITHOUT ROWID")
    db.execute("CREATE TABLE probed (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, "
               "inode INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, hash TEXT NOT NULL, probe TEXT NOT NULL) WITHOUT ROWID")
    db.executemany("INSERT INTO hashes VALUES (?, ?, ?, ?, ?)", hashed)
    db.executemany("INSERT INTO probed VALUES (?, ?, ?, ?, ?, ?, ?)", probed)
    db.commit()
    db.close()


def test_a_cache_of_the_per_path_layout_is_moved_into_folder_rows(tmp_path):
    """An older version's cache (a row per path, more rows than one move step) opens with every
    entry; the old tables stay, empty, with their columns, and what an older version writes
    there later is moved over by the next open (hashed here still drops a probed entry)."""
    path = str(tmp_path / "h.sqlite")
    n = 25_000  # more than one step of the move
    stats = [FileStat(f"/gs/f{i // 1000}/t{i}.exr", i, i + 1, i + 2, i + 3) for i in range(n)]
    _old_layout(path, [(s.path, s.size, s.mtime_ns, s.inode, f"{i:032x}") for i, s in enumerate(stats)],
                [(s.path, s.size, s.mtime_ns, s.inode, s.ctime_ns, "p" * 32, "q" * 32) for s in stats[:10]])
    cache = HashCache(path)
    assert cache.path == path and not (tmp_path / "h.sqlite.corrupt").exists()
    assert cache.lookup(stats) == {s.path: f"{i:032x}" for i, s in enumerate(stats)}
    assert cache.probed(stats[:10]) == {s.path: ("p" * 32, "q" * 32) for s in stats[:10]}
    cache.close()
    db = sqlite3.connect(path)
    assert [r[1] for r in db.execute("PRAGMA table_info(hashes)")] == ["path", "size", "mtime_ns", "inode", "hash"]
    assert db.execute("SELECT COUNT(*) FROM hashes").fetchone() == (0,)
    assert db.execute("SELECT COUNT(*) FROM probed").fetchone() == (0,)
    late = FileStat("/gs/late/x.exr", 1, 2, 3, 4)
    db.execute("INSERT INTO hashes VALUES (?, ?, ?, ?, ?)", (stats[0].path, 1, 2, 3, "n" * 32))  # an older version
    db.execute("INSERT INTO probed VALUES (?, ?, ?, ?, ?, ?, ?)", (*late, "l" * 32, "m" * 32))
    db.commit()
    db.close()
    again = HashCache(path)
    assert again.lookup([FileStat(stats[0].path, 1, 2, 3)]) == {stats[0].path: "n" * 32}
    assert again.probed([stats[0]]) == {} and again.probed([late]) == {late.path: ("l" * 32, "m" * 32)}
    assert len(again.lookup(stats[1:])) == n - 1


def _same_folder_writer(path, worker):
    cache = HashCache(path)
    for batch in range(15):
        cache.put_many((FileStat(f"/shot/w{worker}_{batch}_{i}.exr", i, i, i), f"{worker}-{batch}-{i}")
                       for i in range(40))
        cache.put_probed([(FileStat(f"/shot/p{worker}_{batch}.exr", 1, 1, 1, 1), "h", "p")])


def test_commands_writing_one_folder_at_once_keep_every_entry(tmp_path):
    """Four processes read, merge and rewrite the same folder row sixty times: no entry is lost."""
    path = _run_writers(tmp_path, _same_folder_writer, 4)
    cache = HashCache(path)
    stats = [FileStat(f"/shot/w{w}_{b}_{i}.exr", i, i, i) for w in range(4) for b in range(15) for i in range(40)]
    assert cache.lookup(stats) == {s.path: f"{s.path[7]}-{s.path.split('_')[1]}-{s.size}" for s in stats}
    assert len(cache.probed([FileStat(f"/shot/p{w}_{b}.exr", 1, 1, 1, 1) for w in range(4) for b in range(15)])) == 60


def _edited(cache, sql):
    """``cache`` closed, its file changed by ``sql`` as another program would, and opened again."""
    cache.close()
    db = sqlite3.connect(cache.path)
    db.execute(sql)
    db.commit()
    db.close()
    return HashCache(cache.path)


def test_odd_names_and_a_damaged_row(tmp_path):
    """A file name that is not UTF-8 round-trips (JSON escapes); a folder name that is not
    cannot be a key, so its file is simply not cached; a row that does not decode is a miss
    and the next write replaces it."""
    cache = HashCache(str(tmp_path / "h.sqlite"))
    odd_name = FileStat("/shot/t\udcffx.exr", 1, 2, 3)
    odd_folder = FileStat("/sh\udcffot/t.exr", 1, 2, 3)
    plain = FileStat("/shot/t.exr", 1, 2, 3)
    cache.put_many([(odd_name, "h1"), (odd_folder, "h2"), (plain, "h3")])
    assert cache.lookup([odd_name, odd_folder, plain]) == {odd_name.path: "h1", plain.path: "h3"}
    cache = _edited(cache, "UPDATE folders SET hashed = '[\"t.exr\", 1, 2' WHERE folder = '/shot'")
    assert cache.lookup([plain]) == {}
    cache.put_many([(plain, "h4")])
    assert cache.lookup([plain]) == {plain.path: "h4"}


def test_a_file_in_the_top_folder_and_a_probed_entry_without_a_ctime(tmp_path):
    """A file in the top folder ("/x") is found like any other; a probed entry is only a hit for
    a file with a ctime (a row holding one with ctime 0 keys no version)."""
    cache = HashCache(str(tmp_path / "h.sqlite"))
    top, plain = FileStat("/x.exr", 1, 2, 3, 4), FileStat("/shot/t.exr", 1, 2, 3, 4)
    cache.put_many([(top, "h0"), (plain, "h1")])
    cache.put_probed([(FileStat("/shot/u.exr", 5, 6, 7, 8), "h2", "p2")])
    cache = _edited(cache, "INSERT INTO folders VALUES ('/zero', '[]', '[\"z.exr\", 1, 2, 3, 0, \"hz\", \"pz\"]')")
    zero, with_ctime = FileStat("/zero/z.exr", 1, 2, 3, 0), FileStat("/shot/u.exr", 5, 6, 7, 8)
    assert cache.known([top, plain, zero]) == ({top.path: "h0", plain.path: "h1"}, {})
    assert cache.probed([with_ctime]) == {with_ctime.path: ("h2", "p2")}
