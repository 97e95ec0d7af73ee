"""The local index view (SQLite in the user cache folder): ingested once per shard, trimmed when
shards leave the store, safe with several commands at once, and never in the way: a damaged,
foreign or locked file is rebuilt or replaced by one in memory, with at most one line."""
from __future__ import annotations

import json
import sqlite3
import threading

import pytest

from cloudsubmit.store import resolve, upload
from cloudsubmit.store import indexview
from cloudsubmit.store.index import IndexEntry, TeamIndex
from cloudsubmit.store.local import LocalBackend
from support.store_fixtures import cli_env, make_files, open_as, store_url  # noqa: F401


def _seed(url, tmp_path, name="a", folder="shot"):
    paths = make_files(tmp_path / "gs" / folder, {f"tex{i}.exr": 1000 + i for i in range(4)}, seed=folder)
    roots = {"gs": str(tmp_path / "gs")}
    a = open_as(url, tmp_path, name, roots)
    upload(resolve(paths, a, a.config), a)
    return paths, roots


def _team_states(paths, machine):
    return [(f.state, f.via) for f in resolve(paths, machine, machine.config).files]


def _again(machine):
    """The next command on the same machine: a new index read over the same cache folder."""
    machine._index = None
    return machine


def test_each_shard_is_fetched_once_and_only_new_shards_later(tmp_path):
    class Counting(LocalBackend):
        fetched: list = []

        def get_bytes(self, key):
            self.fetched.append(key)
            return super().get_bytes(key)

    (tmp_path / "store").mkdir()
    url = (tmp_path / "store").as_uri()
    first, roots = _seed(url, tmp_path, "a", "shot1")
    second, _ = _seed(url, tmp_path, "c", "shot2")
    backend = Counting(str(tmp_path / "store"))
    cache = tmp_path / "machine-b" / "index-shards"
    assert TeamIndex(backend, cache).refresh().shard_count() == 2 and len(backend.fetched) == 2
    backend.fetched.clear()
    index = TeamIndex(backend, cache).refresh()  # a new command: nothing decoded again
    assert backend.fetched == [] and len(index.entries()) == 8
    third, _ = _seed(url, tmp_path, "d", "shot3")
    index = TeamIndex(backend, cache).refresh()
    assert len(backend.fetched) == 1 and len(index.entries()) == 12


def test_shards_that_leave_the_store_leave_the_view_and_problems_persist(store_url, tmp_path):
    paths, roots = _seed(store_url, tmp_path, "a", "shot1")
    _seed(store_url, tmp_path, "c", "shot2")
    b = open_as(store_url, tmp_path, "b", roots)
    b.index.refresh()
    b.backend.put_bytes("index/0000-bad.json.gz", b"not gzip")
    open_as(store_url, tmp_path, "x", roots).index.compact()  # another machine folds the two shards
    index = _again(b).index.refresh()
    assert index.shard_count() == 2 and list(index.problems) == ["index/0000-bad.json.gz"]
    assert len(index.entries()) == 8 and index.view.shard_count() == 2  # the folded shards are gone
    again = _again(b).index.refresh()  # the bad shard is named again without being read again
    assert [ln.split(":")[0] for ln in again.problem_lines()] == ["index shard index/0000-bad.json.gz"]
    assert [s for s, _v in _team_states(paths, b)] == ["in_store"] * 4


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "foreign", "other store", "old format"])
def test_a_damaged_or_foreign_view_is_set_aside_and_rebuilt(tmp_path, damage):
    (tmp_path / "store").mkdir()
    url = (tmp_path / "store").as_uri()
    paths, roots = _seed(url, tmp_path)
    b = open_as(url, tmp_path, "b", roots)
    b.index.refresh()
    view = b.index.view_path
    b.index.close()
    whole = view.read_bytes()
    if damage == "truncated":
        view.write_bytes(whole[:len(whole) // 2])
    elif damage == "garbage":
        view.write_bytes(b"\x00not a database at all" * 300)
    elif damage == "empty":
        view.write_bytes(b"")
    elif damage == "foreign":
        view.unlink()
        with sqlite3.connect(view) as db:
            db.execute("CREATE TABLE photos (id INTEGER)")
    else:
        with sqlite3.connect(view) as db:
            db.execute("UPDATE meta SET value = ? WHERE name = ?",
                       ("s3://someone/else", "store") if damage == "other store" else ("cloudsubmit-index-view/0", "format"))
    assert _team_states(paths, _again(b)) == [("in_store", "team")] * 4
    assert b.index.problem_lines() == [] and b.index.view.path == str(view)  # rebuilt on disk, nothing to say
    assert _team_states(paths, _again(b)) == [("in_store", "team")] * 4


def test_a_view_that_cannot_be_used_gives_one_line_and_the_right_answer(tmp_path, monkeypatch):
    monkeypatch.setattr(indexview, "LOCK_TIMEOUT_S", 0.2)
    (tmp_path / "store").mkdir()
    url = (tmp_path / "store").as_uri()
    paths, roots = _seed(url, tmp_path, "a", "shot1")
    b = open_as(url, tmp_path, "b", roots)
    b.index.refresh()
    more, _ = _seed(url, tmp_path, "c", "shot2")  # a new shard b must ingest
    locker = sqlite3.connect(b.index.view_path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # a hung command holding the write lock
    try:
        assert _team_states(paths + more, _again(b)) == [("in_store", "team")] * 8
        (line,) = b.index.problem_lines()
        assert str(b.index.view_path) in line and "cannot be used" in line and "\n" not in line
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    blocked = tmp_path / "machine-d" / "index-shards"
    blocked.mkdir(parents=True)
    d = open_as(url, tmp_path, "d", roots)
    d.index.view_path.mkdir()  # a folder where the file should be
    assert _team_states(paths, d) == [("in_store", "team")] * 4 and len(d.index.problem_lines()) == 1


def test_the_cli_says_one_line_for_an_unusable_view(cli, tmp_path):
    (tmp_path / "store").mkdir()
    url = (tmp_path / "store").as_uri()
    paths, roots = _seed(url, tmp_path)
    env = cli_env(url, tmp_path, "cli")
    env["CLOUDSUBMIT_CONFIG"] = str(tmp_path / "studio.yaml")
    (tmp_path / "studio.yaml").write_text(json.dumps({"paths": {"roots": roots}}))
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"files": paths}))
    first = cli("resolve", "--manifest", str(m), env=env)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    (view,) = [p for p in (tmp_path / "machine-cli").rglob("*.sqlite") if p.name != "hashes.sqlite"]  # the hash cache is asked first
    view.unlink()
    view.mkdir()
    res = cli("resolve", "--manifest", str(m), "--json", env=env)
    assert res.returncode == 0 and json.loads(res.stdout)["skipped_files"] == 4
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith("cloudsubmit: warning: local index view ") and "Traceback" not in res.stderr


def test_commands_ingesting_at_once_record_each_shard_once(tmp_path):
    root = str(tmp_path / "store")
    writer = TeamIndex(LocalBackend(root))
    expected = set()
    for s in range(12):
        batch = [IndexEntry(f"{s * 100 + i:032x}", 10 + i, "gs", f"shot{s}/f{i}.exr", 5 + i, "a", 1.0)
                 for i in range(50)]
        writer.write_shard(batch)
        expected |= {e.identity for e in batch}
    errors = []

    def command():
        try:
            index = TeamIndex(LocalBackend(root), tmp_path / "cache").refresh()
            index.close()
        except Exception as exc:  # noqa: B902 - any failure is the test's failure
            errors.append(repr(exc))

    threads = [threading.Thread(target=command) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    index = TeamIndex(LocalBackend(root), tmp_path / "cache").refresh()
    assert index.view.shard_count() == 12 and len(index.history()) == 600
    assert {e.identity for e in index.entries()} == expected


def test_two_hashes_for_one_claim_or_two_sizes_for_one_hash_are_not_trusted(tmp_path):
    index = TeamIndex(LocalBackend(str(tmp_path / "store")), tmp_path / "cache")
    a, b, c, d = "a" * 32, "b" * 32, "c" * 32, "d" * 32
    index.write_shard([IndexEntry(a, 10, "gs", "s/x.exr", 1), IndexEntry(c, 30, "gs", "s/z.exr", 3),
                       IndexEntry(b, 20, "gs", "s/y.exr", 2)])
    index.write_shard([IndexEntry(d, 10, "gs", "s/x.exr", 1),   # x claimed with a second hash
                       IndexEntry(c, 31, "gs", "t/w.exr", 4)])  # c listed with a second size
    fresh = TeamIndex(LocalBackend(str(tmp_path / "store")), tmp_path / "cache").refresh()
    claims = [("gs", "s/x.exr", 10, 1), ("gs", "s/y.exr", 20, 2), ("gs", "s/z.exr", 30, 3), ("gs", "s/y.exr", 20, 9)]
    assert fresh.known_many(claims) == {("gs", "s/y.exr", 20, 2): b}
    assert fresh.blob_sizes([a, b, c, d]) == {a: 10, b: 20, d: 10}
    assert {(e.root, e.path) for e in fresh.conflicts()} == {("gs", "s/x.exr")}


@pytest.mark.parametrize("count", [0, 1, 2501])
def test_json_with_a_long_list_is_written_as_it_goes_and_parses_whole(capsys, count):
    from cloudsubmit.commands.output import write_json_texts

    summary = {"store": "file:///s", "missing": ["/a/ü.exr"], "files": count}
    texts = [json.dumps({"path": f"/gs/f{i}.exr", "size": i}, ensure_ascii=False) for i in range(count)]
    write_json_texts(summary, "entries", (texts[s:s + 1000] for s in range(0, max(1, count), 1000)))
    out = capsys.readouterr().out
    assert json.loads(out) == dict(summary, entries=[{"path": f"/gs/f{i}.exr", "size": i} for i in range(count)])
    assert out.count("\n") == 9 + count and "ü" in out  # one entry a line, paths kept readable


def test_pair_lookups_answer_what_blob_sizes_and_probes_answer(tmp_path):
    """``missing_blobs``/``probe_mismatches`` (SQLite tests every pair, only misses come back)
    against the per-hash answers, over shards where a hash has two sizes, two probes that
    differ, no probe, a probe in one shard only, and hashes nobody indexed."""
    index = TeamIndex(LocalBackend(str(tmp_path / "store")), tmp_path / "cache")
    h = {k: k * 32 for k in "abcdefg"}
    pa, pb, pc = "1" * 32, "2" * 32, "3" * 32
    index.write_shard([IndexEntry(h["a"], 10, "gs", "s/a.exr", 1, probe=pa),
                       IndexEntry(h["b"], 20, "gs", "s/b.exr", 2, probe=pb),
                       IndexEntry(h["c"], 30, "gs", "s/c.exr", 3),                 # no probe anywhere
                       IndexEntry(h["d"], 40, "gs", "s/d.exr", 4, probe=pc),
                       IndexEntry(h["e"], 50, "gs", "s/e.exr", 5, probe=pa)])
    index.write_shard([IndexEntry(h["b"], 20, "gs", "t/b.exr", 6, probe=pa),     # b: two probes differ
                       IndexEntry(h["d"], 41, "gs", "t/d.exr", 7, probe=pc),     # d: two sizes
                       IndexEntry(h["e"], 50, "gs", "t/e.exr", 8),               # e: probe in one shard only
                       IndexEntry(h["a"], 10, "gs", "t/a.exr", 9, probe=pa)])
    view = TeamIndex(LocalBackend(str(tmp_path / "store")), tmp_path / "cache").refresh()
    sizes_asked = {(h[k], s) for k in "abcdefg" for s in (10, 20, 30, 40, 41, 50, 60)} | {("short", 10)}
    sizes = view.blob_sizes(d for d, _s in sizes_asked)
    assert view.missing_blobs(sizes_asked) == {pair for pair in sizes_asked if sizes.get(pair[0]) != pair[1]}
    assert (h["a"], 10) not in view.missing_blobs(sizes_asked) and (h["d"], 40) in view.missing_blobs(sizes_asked)
    probes_asked = {(h[k], p) for k in "abcdefg" for p in (pa, pb, pc, "", "!")} | {("short", pa)}
    agreed = view.probes(d for d, _p in probes_asked)
    assert agreed == {h["a"]: pa, h["d"]: pc, h["e"]: pa}
    assert view.probe_mismatches(probes_asked) == {pair for pair in probes_asked if agreed.get(pair[0]) != pair[1]}
    assert view.missing_blobs(set()) == set() and view.probe_mismatches([]) == set()
    at = [("gs", "s/a.exr", 10, h["a"]),      # listed right there
          ("gs", "s/d.exr", 40, h["d"]),      # listed there, but d has two sizes
          ("gs", "s/b.exr", 21, h["b"]),      # the path lists b with another size
          ("gs", "s/b.exr", 20, h["b"]),      # a second version of one path, listed
          ("gs", "u/e.exr", 50, h["e"]),      # not listed at this path: asked by pair (in store)
          ("gs", "u/f.exr", 50, h["f"]),      # nowhere
          ("other", "s/a.exr", 10, h["c"]),   # another root's folder is another folder
          ("gs", "top.exr", 30, h["c"])]
    assert view.missing_at(at) == view.missing_blobs({(d, s) for _r, _p, s, d in at})
    assert view.missing_at(at) == {(h["d"], 40), (h["b"], 21), (h["f"], 50), (h["c"], 10)}
    many = {(f"{i:032x}", 1) for i in range(indexview._PAIRS + 1)} | {(h["a"], 10)}  # more than one statement
    assert view.missing_blobs(many) == many - {(h["a"], 10)}
