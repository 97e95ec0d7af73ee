"""The local index view keeps a new shard's hash rows in a small tier and folds them into the big
one in bulk: every answer must be the same whichever tier a row is in, no lookup may scan the
table, and a command killed mid-ingest or mid-fold must leave each shard whole or absent."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import REPO
from cloudsubmit.store import indexview
from cloudsubmit.store.index import IndexEntry, TeamIndex
from cloudsubmit.store.local import LocalBackend

A, B, C, D, F, P = "a" * 32, "b" * 32, "c" * 32, "d" * 32, "f" * 32, "e" * 32
PROBE1, PROBE2 = "1" * 32, "2" * 32


def _shards():
    """Shards whose facts only agree when read across all of them: a size clash, two probes,
    a blob moved out of a pack by a later re-send, a path claimed twice."""
    yield [IndexEntry(A, 10, "gs", "s/a.exr", 1, probe=PROBE1), IndexEntry(B, 20, "gs", "s/b.exr", 2, pack=P, offset=7),
           IndexEntry(C, 30, "gs", "s/c.exr", 3)]
    yield [IndexEntry(f"{i:032x}", 100 + i, "gs", f"bulk{i // 10}/f{i}.exr", i) for i in range(40)]
    yield [IndexEntry(C, 31, "gs", "t/c.exr", 4),                      # C now has two sizes
           IndexEntry(B, 20, "gs", "t/b.exr", 5),                      # B re-sent as its own blob
           IndexEntry(A, 10, "gs", "t/a.exr", 6, probe=PROBE1)]        # the same probe again
    yield [IndexEntry(F, 10, "gs", "s/a.exr", 1),                     # s/a.exr claimed with a 2nd hash
           IndexEntry(D, 40, "gs", "s/d.exr", 7, probe=PROBE2),
           IndexEntry(D, 40, "gs", "u/d.exr", 8, probe=PROBE1)]        # D's entries disagree on the probe


def _job_lookups(index: TeamIndex) -> dict:
    """What the commands of a job ask the view (each about the job's own files and hashes)."""
    hashes = [A, B, C, D, P, f"{5:032x}", f"{39:032x}"]
    claims = [("gs", "s/a.exr", 10, 1), ("gs", "s/b.exr", 20, 2), ("gs", "s/c.exr", 30, 3), ("gs", "bulk0/f5.exr", 105, 5),
              ("gs", "u/d.exr", 40, 8)]
    return {"claims": index.known_many(claims), "sizes": index.blob_sizes(hashes), "probes": index.probes(hashes),
            "locations": index.locations(hashes),
            "missing": index.missing_blobs([(A, 10), (B, 20), (C, 30), (D, 40), (P, 1), (f"{5:032x}", 105)]),
            "missing_at": index.missing_at([("gs", "s/a.exr", 10, A), ("gs", "s/q.exr", 20, B), ("gs", "t/c.exr", 31, C)]),
            "mismatched": index.probe_mismatches([(A, PROBE1), (A, PROBE2), (D, PROBE1), (B, PROBE1)]),
            "new": [e.identity for e in index.new_facts([IndexEntry(A, 10, "gs", "s/a.exr", 1),
                                                         IndexEntry(A, 10, "gs", "s/zz.exr", 1)])]}


def _answers(index: TeamIndex) -> dict:
    return dict(_job_lookups(index), packed=index.packed(), blobs=index.blob_count(),
                entries=sorted(e.identity for e in index.entries()))


def _tiers(index: TeamIndex) -> dict:
    return dict(index.view._db.execute("SELECT tier, COUNT(*) FROM hashes GROUP BY tier"))


def test_answers_do_not_depend_on_which_tier_holds_a_row(tmp_path, monkeypatch):
    stores = {}
    for name, fold_rows in (("unfolded", 10 ** 9), ("folded", 30)):
        monkeypatch.setattr(indexview, "FOLD_ROWS", fold_rows)
        index = TeamIndex(LocalBackend(str(tmp_path / name)), tmp_path / f"cache-{name}")
        for shard in _shards():
            index.write_shard(shard)
        stores[name] = index
    assert list(_tiers(stores["unfolded"])) == [1]
    assert _tiers(stores["folded"])[0] > 0 and _tiers(stores["folded"])[1] > 0  # both tiers hold rows
    got = {name: _answers(TeamIndex(LocalBackend(str(tmp_path / name)), tmp_path / f"cache-{name}").refresh())
           for name in stores}
    assert got["folded"] == got["unfolded"]
    assert got["folded"]["claims"] == {("gs", "s/b.exr", 20, 2): B, ("gs", "bulk0/f5.exr", 105, 5): f"{5:032x}",
                                       ("gs", "u/d.exr", 40, 8): D}
    assert got["folded"]["sizes"] == {A: 10, B: 20, D: 40, f"{5:032x}": 105, f"{39:032x}": 139}
    assert got["folded"]["probes"] == {A: PROBE1} and got["folded"]["locations"] == {}  # B's latest entry: a blob
    assert got["folded"]["new"] == [(A, 10, "gs", "s/zz.exr", 1)]
    assert got["folded"]["missing"] == {(C, 30), (P, 1)}  # C has two sizes; P is a pack, no blob
    assert got["folded"]["missing_at"] == {(C, 31)}
    assert got["folded"]["mismatched"] == {(A, PROBE2), (D, PROBE1), (B, PROBE1)}  # D's probes disagree; B has none


def test_a_compaction_drops_rows_from_both_tiers(tmp_path, monkeypatch):
    monkeypatch.setattr(indexview, "FOLD_ROWS", 30)
    index = TeamIndex(LocalBackend(str(tmp_path / "store")), tmp_path / "cache")
    for shard in _shards():
        index.write_shard(shard)
    before = _answers(index)
    index.compact()
    after = TeamIndex(LocalBackend(str(tmp_path / "store")), tmp_path / "cache").refresh()
    assert after.view.shard_count() == 1 and _answers(after)["entries"] == before["entries"]
    rows = after.view._db.execute("SELECT COUNT(*) FROM hashes WHERE shard NOT IN (SELECT id FROM shards)").fetchone()
    assert rows == (0,)  # nothing of the folded shards is left in either tier


def _plans(db: sqlite3.Connection, statements) -> list:
    return [(sql, [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql)]) for sql in statements]


def test_no_lookup_a_job_makes_scans_the_hash_table(tmp_path, monkeypatch):
    """The planner only skip-scans the tier column because sqlite_stat1 says it holds few
    values; without that row every ``hash IN (...)`` would read the whole table."""
    monkeypatch.setattr(indexview, "FOLD_ROWS", 30)
    index = TeamIndex(LocalBackend(str(tmp_path / "store")), tmp_path / "cache")
    for shard in _shards():
        index.write_shard(shard)
    index.close()
    for attempt in ("as written", "statistics deleted", "statistics table dropped"):
        with sqlite3.connect(index.view_path) as db:
            db.execute("DELETE FROM sqlite_stat1" if attempt == "statistics deleted" else
                       "DROP TABLE sqlite_stat1" if attempt == "statistics table dropped" else "SELECT 1")
        fresh = TeamIndex(LocalBackend(str(tmp_path / "store")), tmp_path / "cache").refresh()
        seen = []
        fresh.view._db.set_trace_callback(seen.append)
        lookups = _job_lookups(fresh)
        fresh.view._db.set_trace_callback(None)
        hash_reads = [sql for sql in seen if "hashes" in sql and sql.lstrip().upper().startswith(("SELECT", "INSERT"))]
        assert hash_reads and lookups["sizes"]
        for sql, plan in _plans(fresh.view._db, hash_reads):
            assert not [step for step in plan if step.startswith(("SCAN hashes", "SCAN h "))], (attempt, sql, plan)
        fresh.close()


_INGEST = """
import sys
from pathlib import Path
from cloudsubmit.store import indexview
from cloudsubmit.store.index import TeamIndex
from cloudsubmit.store.local import LocalBackend
indexview.FOLD_ROWS = 450  # a fold every few shards, so kills land in folds too
indexview.FLUSH_ROWS = 150  # a first look's bulk ingest commits after each shard, as add_shard does
TeamIndex(LocalBackend(sys.argv[1]), Path(sys.argv[2])).refresh()
"""


def _held(view_file) -> dict:
    """``{shard key: (entries it says, hash rows, folder rows)}`` read from the file as a kill left it."""
    with sqlite3.connect(view_file, timeout=30) as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'hashes'").fetchone():
            return {}  # killed before its schema was committed
        return {key: (n, hashes, folders) for key, n, hashes, folders in db.execute(
            "SELECT key, entries, (SELECT COUNT(*) FROM hashes WHERE shard = s.id), "
            "(SELECT COUNT(*) FROM folders WHERE shard = s.id) FROM shards s")}


def test_a_command_killed_while_ingesting_or_folding_leaves_each_shard_whole_or_absent(tmp_path):
    rng = random.Random(7)
    store = tmp_path / "store"
    writer = TeamIndex(LocalBackend(str(store)))
    facts = set()
    for s in range(40):
        shard = [IndexEntry(f"{rng.getrandbits(128):032x}", 1 + i, "gs", f"shot{s}/d{i % 4}/f{i}.exr", i) for i in range(150)]
        writer.write_shard(shard)
        facts |= {e.identity for e in shard}
    cache = tmp_path / "machine" / "index-shards"
    view_file = TeamIndex(LocalBackend(str(store)), cache).view_path
    env = dict(os.environ, PYTHONPATH=str(REPO))
    mid_ingest = 0
    for round_ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", _INGEST, str(store), str(cache)], env=env)
        target = rng.randint(1, 39)
        while proc.poll() is None and (not view_file.exists() or len(_held(view_file)) < target):
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        held = _held(view_file)
        assert all(hashes == n and folders > 0 for n, hashes, folders in held.values()), round_  # whole or absent
        with sqlite3.connect(view_file) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        mid_ingest += 0 < len(held) < 40
    assert mid_ingest >= 3, "the kills did not land mid-ingest; the test proved nothing"
    index = TeamIndex(LocalBackend(str(store)), cache).refresh()  # the next command ingests what is missing
    assert {e.identity for e in index.entries()} == facts and index.view.shard_count() == 40
    assert dict(index.view._db.execute("SELECT tier, COUNT(*) > 0 FROM hashes GROUP BY tier")).get(0) == 1
