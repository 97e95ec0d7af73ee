"""Claims a probe confirmed are remembered in the machine's hash cache (its ``probed`` table), so
a teammate's next warm resolve reads nothing, without ever weakening the trust rule: the row is
keyed by size, mtime, inode and ctime, it is used only while the index still makes that same sole
claim with that same probe, and ``upload --recheck`` / ``trust_team_index: never`` see only the
hashes this machine computed. Real files, a directory store and S3 (moto)."""
from __future__ import annotations

import os
import shutil
import sqlite3

from cloudsubmit.store import claims, resolve, upload
from cloudsubmit.store.hashcache import FileStat, HashCache
from cloudsubmit.store.hashing import hash_file
from support.store_fixtures import make_files, open_as, store_url  # noqa: F401
from test_store_trust import _claim

BIG = 40_000  # more than three probe windows


def _teammate(url, tmp_path, monkeypatch, spec=None):
    """a uploads the shot under mount A; b has the same files (mtimes kept) under mount B.
    Returns b's paths, b's roots and the list every probe read appends its path to."""
    a_root, b_root = tmp_path / "mnt_a", tmp_path / "mnt_b"
    paths = make_files(a_root / "shot", spec or {"a.exr": BIG, "b.exr": BIG, "small.tx": 300})
    a = open_as(url, tmp_path, "a", {"gs": str(a_root)})
    upload(resolve(paths, a, a.config), a)
    shutil.copytree(a_root, b_root)
    reads: list = []
    real = claims.probe_file
    monkeypatch.setattr(claims, "probe_file", lambda path, size: reads.append(path) or real(path, size))
    return [p.replace(str(a_root), str(b_root)) for p in paths], {"gs": str(b_root)}, reads


def test_a_confirmed_claim_is_not_read_again_and_stays_apart_from_own_hashes(store_url, tmp_path, monkeypatch):
    paths, roots, reads = _teammate(store_url, tmp_path, monkeypatch)
    b = open_as(store_url, tmp_path, "b", roots)
    first = resolve(paths, b, b.config)
    assert sorted(reads) == sorted(paths) and {(f.via, f.state) for f in first.files} == {("team", "in_store")}
    reads.clear()
    b = open_as(store_url, tmp_path, "b", roots)  # a new command on the same machine
    again = resolve(paths, b, b.config)
    assert reads == []
    assert [(f.via, f.state, f.hash) for f in again.files] == [("team", "in_store", hash_file(p)) for p in paths]
    stats = [FileStat.of(p) for p in paths]
    assert b.hash_cache.lookup(stats) == {}  # never hashed here: recheck still knows
    assert {p: h for p, (h, _probe) in b.hash_cache.probed(stats).items()} == {p: hash_file(p) for p in paths}


def test_a_file_rewritten_with_its_old_mtime_is_probed_again_and_hashed(store_url, tmp_path, monkeypatch):
    """Same size, same mtime (put back), same inode: only the ctime tells. The stale row is not
    used; the probe read sees other bytes, so the file is hashed and the job gets its bytes."""
    paths, roots, reads = _teammate(store_url, tmp_path, monkeypatch)
    b = open_as(store_url, tmp_path, "b", roots)
    resolve(paths, b, b.config)
    before = os.stat(paths[0])
    with open(paths[0], "r+b") as f:  # in place: the inode stays
        f.write(b"X" * 100)
    os.utime(paths[0], ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(paths[0])
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    assert after.st_ctime_ns != before.st_ctime_ns
    reads.clear()
    b = open_as(store_url, tmp_path, "b", roots)
    res = resolve(paths, b, b.config)
    assert reads == [paths[0]]
    assert [(f.via, f.hash) for f in res.files] == [("hashed", hash_file(paths[0]))] + [
        ("team", hash_file(p)) for p in paths[1:]]
    assert res.files[0].state == "to_upload" and paths[0] not in b.hash_cache.probed([FileStat.of(paths[0])])


def test_a_claim_contradicted_after_it_was_confirmed_is_no_longer_taken(store_url, tmp_path, monkeypatch):
    """Someone writes a second hash for a.exr's version, and a second probe for b.exr's blob:
    the index no longer makes the sole agreed claim, so the remembered rows are not enough."""
    paths, roots, reads = _teammate(store_url, tmp_path, monkeypatch)
    b = open_as(store_url, tmp_path, "b", roots)
    resolve(paths, b, b.config)
    x = open_as(store_url, tmp_path, "x")
    sa, sb = os.stat(paths[0]), os.stat(paths[1])
    _claim(x.backend, hash=hash_file(paths[1]), size=BIG, root="gs", path="shot/a.exr", mtime_ns=sa.st_mtime_ns)
    _claim(x.backend, hash=hash_file(paths[1]), size=BIG, root="gs", path="shot/elsewhere.exr",
           mtime_ns=sb.st_mtime_ns, probe=claims.probe_file(paths[0], BIG))
    reads.clear()
    b = open_as(store_url, tmp_path, "b", roots)
    res = resolve(paths, b, b.config)
    assert [(f.via, f.hash) for f in res.files] == [("hashed", hash_file(paths[0])), ("hashed", hash_file(paths[1])),
                                                    ("team", hash_file(paths[2]))]
    assert reads == []  # a.exr: two claims; b.exr: two probes: neither is even probed


def test_never_and_recheck_hash_the_confirmed_files_and_drop_their_rows(tmp_path, monkeypatch):
    url = (tmp_path / "store").as_uri()
    (tmp_path / "store").mkdir()
    paths, roots, reads = _teammate(url, tmp_path, monkeypatch)
    b = open_as(url, tmp_path, "b", roots)
    resolve(paths, b, b.config)
    never = open_as(url, tmp_path, "b", roots, **{"store.trust_team_index": "never"})
    assert {f.via for f in resolve(paths, never, never.config).files} == {"hashed"}
    recheck = open_as(url, tmp_path, "b", roots)
    stats = [FileStat.of(p) for p in paths]
    assert recheck.hash_cache.probed(stats) == {}  # hashed here now: the better knowledge replaced them
    assert recheck.hash_cache.lookup(stats) == {p: hash_file(p) for p in paths}
    assert {f.via for f in resolve(paths, recheck, recheck.config, trust_team=False).files} == {"cache"}


def test_a_forged_sole_claim_is_never_remembered(store_url, tmp_path, monkeypatch):
    """The only claim for c.exr's version names b's blob (same size) with b's probe: c.exr is
    hashed, and nothing about it enters the probed table; the next resolve takes its own hash."""
    from test_store_trust import _forged_sole_claim

    (pa, pb, pc), roots = _forged_sole_claim(store_url, tmp_path, probe_of=str(tmp_path / "gs" / "shot" / "b.exr"))
    for via in ("hashed", "cache"):
        m = open_as(store_url, tmp_path, "m", roots)
        res = resolve([pa, pc], m, m.config)
        assert [(f.via, f.hash) for f in res.files] == [("team", hash_file(pa)), (via, hash_file(pc))]
        assert pc not in m.hash_cache.probed([FileStat.of(pc)])


def test_a_cache_written_by_an_older_version_keeps_its_hashes(tmp_path):
    """An older cloudsubmit's cache has only ``hashes``: it is used as it is and gains the
    ``probed`` table; the older version's own check (the ``hashes`` columns) still passes."""
    (f,) = make_files(tmp_path / "proj", {"a.exr": 100})
    path = tmp_path / "h.sqlite"
    st = FileStat.of(f)
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE hashes (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, "
                "inode INTEGER NOT NULL, hash TEXT NOT NULL) WITHOUT ROWID")
    old.execute("INSERT INTO hashes VALUES (?, ?, ?, ?, ?)", (st.path, st.size, st.mtime_ns, st.inode, "h1"))
    old.commit()
    old.close()
    cache = HashCache(str(path))
    assert cache.path == str(path) and cache.lookup([st]) == {f: "h1"}
    cache.put_probed([(st, "h2", "p2")])
    assert cache.probed([st]) == {f: ("h2", "p2")} and cache.lookup([st]) == {f: "h1"}
    cache.close()
    db = sqlite3.connect(path)
    assert [r[1] for r in db.execute("PRAGMA table_info(hashes)")] == ["path", "size", "mtime_ns", "inode", "hash"]
    assert not (tmp_path / "h.sqlite.corrupt").exists()
