"""The team index: immutable shards, a local shard cache, safe compaction, verify."""
from __future__ import annotations

import threading

import pytest

from cloudsubmit.errors import StoreError
from cloudsubmit.store import open_store, resolve, upload
from cloudsubmit.store.index import IndexEntry, TeamIndex
from cloudsubmit.store.local import LocalBackend
from support.store_fixtures import make_files, open_as, store_url  # noqa: F401


def entry(i, user="a"):
    return IndexEntry(f"{i:032x}", 100 + i, "gs", f"shot/f{i}.exr", 1_000 + i, user, 1.0 + i)


class RacingBackend(LocalBackend):
    """A real directory store that runs ``on_list`` right after its next listing: the moment a
    reader has seen the shard list but not fetched the shards yet."""

    on_list = None

    def list(self, prefix):
        out = list(super().list(prefix))
        hook, self.on_list = self.on_list, None
        if hook:
            hook()
        return iter(out)


def test_conditional_write_never_replaces(store_url, tmp_path):
    store = open_store(store_url)
    assert store.backend.put_bytes("index/x.json.gz", b"one", if_absent=True) is True
    assert store.backend.put_bytes("index/x.json.gz", b"two", if_absent=True) is False
    assert store.backend.get_bytes("index/x.json.gz") == b"one"


def test_reader_fetches_each_shard_once_then_only_lists(s3_bucket, tmp_path):
    url = f"s3://{s3_bucket}/t"
    for i in range(3):  # three artists, three shards
        paths = make_files(tmp_path / f"a{i}", {f"f{j}.bin": 1000 + j for j in range(40)}, seed=str(i))
        s = open_as(url, tmp_path, f"artist{i}")
        upload(resolve(paths, s), s)
    calls = []
    fresh = open_as(url, tmp_path, "newcomer")
    fresh.backend.client.meta.events.register("before-send.s3", lambda request, **kw: calls.append(request.method))
    fresh.index.refresh()
    assert sorted(calls) == ["GET"] * 4  # one listing + three shards
    again = open_as(url, tmp_path, "newcomer")  # a new process on the same machine
    calls.clear()
    again.backend.client.meta.events.register("before-send.s3", lambda request, **kw: calls.append(request.method))
    res = resolve([p for i in range(3) for p in (tmp_path / f"a{i}").glob("*")], again)
    assert len(res.in_store) == 120 and calls == ["GET"]  # 120 files resolved with one request


def test_compaction_under_a_reader_with_a_stale_listing(tmp_path):
    backend = RacingBackend(str(tmp_path / "store"))
    writer = TeamIndex(backend)
    for i in range(5):
        writer.write_shard([entry(i)])
    reader = TeamIndex(backend)  # no local cache: must fetch every shard
    backend.on_list = lambda: TeamIndex(LocalBackend(str(tmp_path / "store"))).compact()
    reader.refresh()  # listed 5 shards, they vanished, listed again, found the snapshot
    assert {e.identity for e in reader.entries()} == {entry(i).identity for i in range(5)}
    assert len(reader.shards) == 1


class PausingBackend(LocalBackend):
    """A real directory store that stops at one call (``pause_at``: "list" right after the
    listing, "get" before a shard's fetch) until the test lets it go: two commands of one machine
    interleaved exactly where a race would hurt."""

    def __init__(self, root, pause_at):
        super().__init__(root)
        self.pause_at, self.reached, self.go = pause_at, threading.Event(), threading.Event()

    def _pause(self, where):
        if where == self.pause_at and not self.reached.is_set():
            self.reached.set()
            assert self.go.wait(30), "the test never let the paused command go"

    def list(self, prefix):
        out = list(super().list(prefix))
        self._pause("list")
        return iter(out)

    def get_bytes(self, key):
        self._pause("get")
        return super().get_bytes(key)


def test_a_stale_listing_on_the_same_machine_never_makes_a_compaction_lose_a_shard(tmp_path):
    """Two commands share this machine's index view. Command P lists the shards; a teammate's
    shard X is written and lands in the view; compactor Q lists X and counts on the view for its
    entries; only then does P finish its refresh. P's listing predates X, so X is not "gone":
    P must not drop it from the view, and Q must fold X's entry, not lose it."""
    root, cache = str(tmp_path / "store"), tmp_path / "cache"
    plain = TeamIndex(LocalBackend(root))
    plain.write_shard([entry(1)])
    plain.write_shard([entry(2)])
    TeamIndex(LocalBackend(root), cache).refresh()  # the view holds both
    p_backend, q_backend = PausingBackend(root, "list"), PausingBackend(root, "get")
    p_cmd = threading.Thread(target=TeamIndex(p_backend, cache).refresh)
    p_cmd.start()
    assert p_backend.reached.wait(30)  # P has its listing: shards 1 and 2
    TeamIndex(LocalBackend(root), cache).write_shard([entry(3)])  # X: in the store and in the view
    plain.write_shard([entry(4)])  # a shard the view lacks, so Q fetches one
    errors = []

    def compact():
        try:
            TeamIndex(q_backend, cache).compact()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    q_cmd = threading.Thread(target=compact)
    q_cmd.start()
    assert q_backend.reached.wait(30)  # Q listed 1, 2, X and 4, and found X already in the view
    p_backend.go.set()
    p_cmd.join(30)
    q_backend.go.set()
    q_cmd.join(30)
    assert not errors
    final = TeamIndex(LocalBackend(root))
    assert {e.identity for e in final.entries()} == {entry(i).identity for i in (1, 2, 3, 4)}


def test_a_listing_folded_away_meanwhile_is_read_again_not_taken_for_empty(tmp_path):
    """gc keeps every pack an entry names: a command whose listed shards another command of this
    machine folded (and dropped from the shared view) must list again and read the snapshot,
    never answer "no entries" (the packs would look orphaned)."""
    root, cache = str(tmp_path / "store"), tmp_path / "cache"
    plain = TeamIndex(LocalBackend(root))
    for i in range(3):
        plain.write_shard([entry(i)._replace(pack=f"{i:032x}", offset=0)])
    gc_cmd = TeamIndex(LocalBackend(root), cache).refresh()  # lists the three shards
    TeamIndex(LocalBackend(root), cache).compact()  # another command: one snapshot, three shards gone
    assert {e.pack for e in gc_cmd.history()} == {f"{i:032x}" for i in range(3)}
    assert gc_cmd.shard_count() == 1


def test_concurrent_compactions_and_writers_lose_nothing(tmp_path):
    root = str(tmp_path / "store")
    written, errors = [], []

    def writer(w):
        idx = TeamIndex(LocalBackend(root))
        for k in range(15):
            e = entry(w * 100 + k, user=f"u{w}")
            idx.write_shard([e])
            written.append(e.identity)

    def compactor():
        for _ in range(6):
            try:
                TeamIndex(LocalBackend(root), tmp_path / "cache").compact()
            except Exception as exc:  # the only acceptable failure: StoreError "keeps changing, try again"
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    threads += [threading.Thread(target=compactor) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(e.startswith("StoreError") and "try again" in e for e in errors), errors
    final = TeamIndex(LocalBackend(root))
    assert {e.identity for e in final.entries()} == set(written)
    TeamIndex(LocalBackend(root)).compact()
    assert len(TeamIndex(LocalBackend(root)).refresh().shards) == 1


def test_verify_finds_missing_short_and_wrong_blobs(store_url, tmp_path):
    paths = make_files(tmp_path / "p", {"a": 5000, "b": 6000, "c": 7000, "d": 8000})
    store = open_as(store_url, tmp_path, "a")
    res = resolve(paths, store)
    upload(res, store)
    a, b, c, _ = [f.hash for f in res.files]
    assert store.index.verify(deep=True).ok
    store.backend.delete("cas/" + a)
    store.backend.put_bytes("cas/" + b, b"short")
    store.backend.put_bytes("cas/" + c, b"x" * 7000)  # right size, wrong content
    quick = store.index.verify()
    assert quick.missing == [a] and quick.wrong_size == [b] and quick.wrong_hash == []
    deep = store.index.verify(deep=True)
    assert deep.wrong_hash == [c] and not deep.ok and deep.blobs == 4


def test_a_corrupt_shard_is_named_in_one_line_and_the_rest_still_read(tmp_path):
    backend = LocalBackend(str(tmp_path / "store"))
    backend.put_bytes("index/0001-bad.json.gz", b"not gzip")
    index = TeamIndex(backend).refresh()
    assert list(index.problems) == ["index/0001-bad.json.gz"]
    (line,) = index.problem_lines()
    assert "index/0001-bad.json.gz" in line and "\n" not in line and "index repair" in line


def test_a_large_index_compacts_into_bounded_snapshots(tmp_path, monkeypatch):
    import cloudsubmit.store.index as index_module

    monkeypatch.setattr(index_module, "SNAPSHOT_MAX", 3)
    backend = LocalBackend(str(tmp_path / "store"))
    idx = TeamIndex(backend)
    for i in range(7):
        idx.write_shard([entry(i)])
    rep = TeamIndex(backend).compact()
    assert (rep.shards_before, rep.shards_folded, rep.entries) == (7, 7, 7)
    after = TeamIndex(backend).refresh()
    assert sorted(len(v) for v in after.shards.values()) == [1, 3, 3]
    assert {e.identity for e in after.entries()} == {entry(i).identity for i in range(7)}


def test_uploads_compact_the_index_past_the_configured_shard_count(store_url, tmp_path):
    for i in range(4):
        paths = make_files(tmp_path / f"p{i}", {"a.exr": 100 + i})
        store = open_as(store_url, tmp_path, "a", None, **{"store.compact_after": 2})
        upload(resolve(paths, store), store)
    fresh = open_as(store_url, tmp_path, "b").index.refresh()
    assert len(fresh.shards) <= 2 and len(fresh.entries()) == 4
    assert fresh.verify().ok


def test_shard_entries_with_paths_that_could_escape_or_alias_a_root_are_left_out():
    import gzip
    import json

    from cloudsubmit.store.index import FORMAT, decode_shard

    def entry(path):
        return {"hash": "0" * 32, "size": 1, "root": "proj", "path": path, "mtime_ns": 1, "user": "a", "time": 1.0}

    bad = ["a//b", "./a", "a/..", "../a", "a/./b", "a/", "a\\b", "a\x00b", "a\nb", "a\x7fb", "/abs", ""]
    good = ["a/..b/c", "..x/y", "a.b/c", "tex/wall paper.png", "…/ü.exr"]
    data = gzip.compress(json.dumps({"format": FORMAT, "entries": [entry(p) for p in bad + good]}).encode())
    decoded = decode_shard(data, "index/x.json.gz")
    assert [e.path for e in decoded.entries] == good
    assert len(decoded.bad) == len(bad) and all("path" in why for why in decoded.bad)
