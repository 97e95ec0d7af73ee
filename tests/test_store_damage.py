"""A damaged index never blocks the team: every damaged shard or entry is skipped, named by key in
one line, never folded into a snapshot, and quarantined by `cloudsubmit index repair`. Each state
is built on a directory store and on S3 (moto server)."""
from __future__ import annotations

import json

import pytest

from cloudsubmit.store import resolve, upload
from cloudsubmit.store.index import QUARANTINE_PREFIX, SHARD_PREFIX
from support.store_damage import BAD_ENTRIES, UNREADABLE, put_bad_entry, put_unreadable
from support.store_fixtures import cli_env, make_files, open_as, store_url  # noqa: F401


def _seed(url, tmp_path):
    """One real file uploaded by machine a: its shard is the good data a repair must keep."""
    paths = make_files(tmp_path / "gs" / "shot", {"tex.exr": 3000})
    roots = {"gs": str(tmp_path / "gs")}
    a = open_as(url, tmp_path, "a", roots)
    upload(resolve(paths, a, a.config), a)
    return paths, roots


def _shard_keys(store):
    return sorted(k for k, _ in store.backend.list(SHARD_PREFIX))


def test_every_damaged_shard_state_is_skipped_named_and_quarantined(store_url, tmp_path):
    """All states at once in one store (one boto3 client per machine is the slow part): each
    damaged shard is named in its own line, the team fast path keeps working from the sound
    data, compaction folds only sound shards, and repair keeps every sound entry."""
    paths, roots = _seed(store_url, tmp_path)
    x = open_as(store_url, tmp_path, "x", roots)
    good = [e._asdict() for e in x.index.entries()]
    damaged = {put_unreadable(x.backend, name): name for name in sorted(UNREADABLE)}
    damaged.update({put_bad_entry(x.backend, name, good): name for name in sorted(BAD_ENTRIES)})
    b = open_as(store_url, tmp_path, "b", roots)
    res = resolve(paths, b, b.config)
    assert [f.state for f in res.files] == ["in_store"] and res.files[0].via == "team"
    assert sorted(b.index.problems) == sorted(damaged)
    lines = b.index.problem_lines()
    assert all(key in line for key, line in zip(sorted(damaged), lines)) and all("\n" not in ln for ln in lines)
    rep = b.index.verify()
    assert not rep.ok and len(rep.bad_shards) == len(damaged)
    b.index.compact()
    assert set(damaged) <= set(_shard_keys(b))  # never folded, never deleted: only repair moves them
    fixed = b.index.repair()
    assert sorted(fixed.quarantined) == sorted(damaged) and len(fixed.rewritten) == len(BAD_ENTRIES)
    assert not set(damaged) & set(_shard_keys(b))
    assert all(b.backend.exists(QUARANTINE_PREFIX + key) for key in damaged)
    c = open_as(store_url, tmp_path, "c", roots)
    assert c.index.verify().ok and not c.index.problems
    assert {e.hash for e in c.index.entries()} == {g["hash"] for g in good}
    assert [f.state for f in resolve(paths, c, c.config).files] == ["in_store"]


def test_the_cli_warns_verifies_and_repairs_in_one_line_each(cli, tmp_path):
    """The commands' own lines (the S3 side of the same states is proven above, in-process)."""
    (tmp_path / "store").mkdir()
    store_url = (tmp_path / "store").as_uri()
    paths, roots = _seed(store_url, tmp_path)
    x = open_as(store_url, tmp_path, "x", roots)
    bad = [put_unreadable(x.backend, "gzip cut in half"), put_bad_entry(x.backend, "hash with ../")]
    m = tmp_path / "m.json"
    m.write_text(json.dumps({"files": paths}))
    env = cli_env(store_url, tmp_path, "cli")
    env["CLOUDSUBMIT_CONFIG"] = str(tmp_path / "studio.yaml")
    (tmp_path / "studio.yaml").write_text(json.dumps({"paths": {"roots": roots}}))
    res = cli("resolve", "--manifest", str(m), "--json", env=env)
    assert res.returncode == 0 and json.loads(res.stdout)["skipped_files"] == 1
    warnings = res.stderr.strip().splitlines()
    assert len(warnings) == 2 and all(k in w for k, w in zip(sorted(bad), warnings))
    assert all(w.startswith("cloudsubmit: warning: index shard ") and "index repair" in w for w in warnings)
    verify = cli("index", "verify", env=env)
    assert verify.returncode == 1 and verify.stdout.count("damaged: index shard") == 2
    compact = cli("index", "compact", env=env)
    assert compact.returncode == 0, compact.stderr
    repair = cli("index", "repair", "--json", env=env)
    assert repair.returncode == 0 and sorted(json.loads(repair.stdout)["quarantined"]) == sorted(bad)
    ok = cli("index", "verify", env=env)
    assert ok.returncode == 0 and ok.stderr == "", ok.stdout + ok.stderr
    for proc in (res, verify, compact, repair, ok):
        assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
