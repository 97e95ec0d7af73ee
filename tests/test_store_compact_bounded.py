"""Compaction and a machine's first look in bounded memory: the rules the old in-memory fold
kept (latest write wins in shard order, first writer, latest place, a probe stays), the bulk
ingest's rows equal to a one-shard ingest's, Python memory that follows a batch and not the
store, and a compaction SIGKILLed at any point losing nothing."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

import cloudsubmit.store.index as index_module
from cloudsubmit.store import indexview
from cloudsubmit.store.index import IndexEntry, TeamIndex, encode_shard
from cloudsubmit.store.local import LocalBackend
from cloudsubmit.storekeys import SHARD_PREFIX, new_shard_key

REPO = Path(__file__).resolve().parent.parent


def _reference_fold(shards):
    """The fold as it was before it streamed (one dict of every fact), kept as the oracle."""
    seen = {}
    for entries in shards:
        for e in entries:
            first = seen.pop(e.identity, e)
            keep = first if (first.pack, first.offset) == (e.pack, e.offset) else first._replace(pack=e.pack, offset=e.offset)
            seen[e.identity] = keep._replace(probe=e.probe) if e.probe and not keep.probe else keep
    return list(seen.values())


def _messy_shards(rng, count, per_shard):
    """Shards whose facts repeat across shards and folders, with moves between packs, probes
    recorded late, other writers and times: every rule of the fold has something to decide."""
    pool = [(f"{rng.getrandbits(128):032x}", rng.randint(1, 10 ** 6), rng.choice(["gs", "proj"]),
             f"shot{rng.randint(0, 5)}/{rng.choice(['tex', 'geo', 'a/b'])}/f{i}.exr", rng.randint(1, 10 ** 18))
            for i in range(per_shard * 2)]
    shards = []
    for s in range(count):
        entries = []
        for _ in range(per_shard):
            digest, size, root, path, mtime = rng.choice(pool)
            pack = rng.choice(["", "", f"{rng.getrandbits(128):032x}"])
            entries.append(IndexEntry(digest, size, root, path, mtime, f"user{s % 3}", float(s),
                                      pack, rng.randint(0, 10 ** 6) if pack else 0,
                                      rng.choice(["", "", f"{rng.getrandbits(128):032x}"])))
        shards.append(entries)
    return shards


def _view_rows(index):
    """The view's folder and hash rows with each shard id replaced by its shard's entry count
    (ids differ between views, contents must not)."""
    db = index.view._db
    sizes = dict(db.execute("SELECT id, entries FROM shards"))
    folders = sorted((r, f, sizes[s], e, d) for r, f, s, e, d in db.execute("SELECT * FROM folders"))
    hashes = sorted((h, z, sizes[s], p, o, pr) for _t, h, z, s, p, o, pr in db.execute("SELECT * FROM hashes"))
    clash = sorted(db.execute("SELECT hash FROM size_clash"))
    return folders, hashes, clash


def test_compaction_keeps_every_rule_of_the_in_memory_fold(tmp_path, monkeypatch):
    monkeypatch.setattr(index_module, "SNAPSHOT_MAX", 37)  # several snapshots, cut anywhere
    rng = random.Random(5)
    shards = _messy_shards(rng, 12, 40)
    backend = LocalBackend(str(tmp_path / "store"))
    writer = TeamIndex(backend)
    for entries in shards:
        writer.write_shard(entries)
    compactor = TeamIndex(backend, tmp_path / "machine-a")
    compactor.refresh()
    rep = compactor.compact()
    expected = _reference_fold(shards)
    assert (rep.shards_folded, rep.entries) == (12, len(expected))
    assert compactor.history() == expected  # same facts, same fields, same last-write order
    fresh = TeamIndex(backend, tmp_path / "machine-b").refresh()
    assert fresh.history() == expected
    assert sorted(len(v) for v in fresh.shards.values()) == sorted(
        [37] * (len(expected) // 37) + ([len(expected) % 37] if len(expected) % 37 else []))
    # what the compacting machine staged into its view is what a fresh machine ingests
    assert _view_rows(compactor) == _view_rows(fresh)
    hashes = {e.hash for e in expected}
    assert compactor.locations(hashes) == fresh.locations(hashes) and compactor.probes(hashes) == fresh.probes(hashes)


def test_a_bulk_ingest_writes_the_rows_a_one_shard_ingest_writes(tmp_path):
    """Three shards at once (the bulk path) and one shard at a time give the same view rows,
    size clashes included, in either tier."""
    rng = random.Random(9)
    shards = _messy_shards(rng, 3, 30)
    shards[2].append(shards[0][0]._replace(size=shards[0][0].size + 1))  # one hash with two sizes
    backend = LocalBackend(str(tmp_path / "store"))
    one_by_one = TeamIndex(backend, tmp_path / "one")
    for entries in shards:
        TeamIndex(backend).write_shard(entries)
        one_by_one.refresh()  # one new shard per listing: add_shard
    bulk = TeamIndex(backend, tmp_path / "bulk").refresh()  # three new shards: the bulk ingest
    assert _view_rows(bulk) == _view_rows(one_by_one) and _view_rows(bulk)[2]
    assert dict(bulk.view._db.execute("SELECT tier, COUNT(*) FROM hashes GROUP BY tier")).keys() == {1}


def _fill(backend, shards, per_shard, folders=20):
    rng = random.Random(1)
    for s in range(shards):
        backend.put_bytes(new_shard_key(), encode_shard(
            [IndexEntry(f"{rng.getrandbits(128):032x}", 1000 + i, "gs", f"seq/shot{s:03d}/d{i % folders:02d}/t{i:05d}.tx",
                        1_700_000_000_000_000_000 + i, "artist", 1.0) for i in range(per_shard)]), if_absent=True)


def _traced_peak_mb(run):
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


def test_compaction_and_a_first_look_hold_a_batch_not_the_store(tmp_path):
    """60,000 entries: the old fold held every entry (about 45 MB of Python objects here), a
    first look at the snapshot decoded it whole (about 60 MB); both now hold a batch."""
    backend = LocalBackend(str(tmp_path / "store"))
    _fill(backend, 30, 2000)
    compactor = TeamIndex(backend, tmp_path / "machine-a")
    compactor.refresh()
    fold_mb = _traced_peak_mb(compactor.compact)
    (snapshot,) = [k for k, _ in backend.list(SHARD_PREFIX)]
    look = TeamIndex(backend, tmp_path / "machine-b")
    look_mb = _traced_peak_mb(look.refresh)
    assert look.entry_count() == compactor.entry_count() == 60_000 and not look.problems
    assert fold_mb < 16 and look_mb < 16, (fold_mb, look_mb)


_COMPACT = """
import sys
from pathlib import Path
import cloudsubmit.store.index as index_module
from cloudsubmit.store.index import TeamIndex
from cloudsubmit.store.local import LocalBackend
index_module.SNAPSHOT_MAX = 500  # many snapshots, so kills land between them too
TeamIndex(LocalBackend(sys.argv[1]), Path(sys.argv[2])).compact()
"""


def test_a_compaction_killed_at_any_point_loses_nothing(tmp_path):
    backend = LocalBackend(str(tmp_path / "store"))
    _fill(backend, 12, 300, folders=7)
    facts = {e.identity for e in TeamIndex(backend).entries()}
    env = dict(os.environ, PYTHONPATH=str(REPO))
    outcomes = set()
    # kill when the store shows: 1 snapshot written, 3 written, the first folded shard deleted, ...
    for round_, (snapshots, deleting) in enumerate([(1, False), (3, False), (0, True), (2, False), (5, False), (0, True)]):
        before = {k for k, _ in backend.list(SHARD_PREFIX)}
        proc = subprocess.Popen([sys.executable, "-c", _COMPACT, str(backend.root), str(tmp_path / f"m{round_ % 2}")], env=env)
        while proc.poll() is None:
            now = {k for k, _ in backend.list(SHARD_PREFIX)}
            if (deleting and before - now) or (not deleting and len(now - before) >= snapshots):
                break
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        after = {k for k, _ in backend.list(SHARD_PREFIX)}
        outcomes.add("untouched" if after == before else "folded" if not after & before else "part-way")
        reader = TeamIndex(backend, tmp_path / "reader")
        assert {e.identity for e in reader.entries()} == facts, round_  # nothing lost, whatever the kill hit
        reader.close()
        _fill(backend, 2, 300, folders=7)  # new shots meanwhile, so the next round has work
        facts |= {e.identity for e in TeamIndex(backend).entries()}
    TeamIndex(backend, tmp_path / "m0").compact()
    assert {e.identity for e in TeamIndex(backend, tmp_path / "last").entries()} == facts
    assert "part-way" in outcomes, outcomes  # kills landed between the snapshots and the deletes


@pytest.fixture(autouse=True)
def _small_flushes(monkeypatch):
    monkeypatch.setattr(indexview, "FLUSH_ROWS", 5_000)  # a bulk ingest commits in several transactions
