"""Eight CLI processes upload overlapping sets at once, against a directory store and S3; then
SIGKILL uploads at random points and check the index never lies."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

from conftest import REPO
from cloudsubmit.store.hashing import hash_bytes
from support.store_fixtures import blob_keys, cli_env, make_files, open_as, store_url  # noqa: F401

N_PROCS = 8


def _popen(args, env):
    full = dict(os.environ, PYTHONPATH=str(REPO))
    full.update(env)
    return subprocess.Popen([sys.executable, "-m", "cloudsubmit", *args], env=full,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _manifest(tmp, name, paths):
    m = tmp / f"{name}.json"
    m.write_text(json.dumps({"files": paths}))
    return str(m)


def _assert_store_is_sound(store):
    """Every indexed blob is present and hashes to its name."""
    present = dict(store.backend.list("cas/"))
    for e in store.index.entries():
        key = "cas/" + e.hash
        assert present.get(key) == e.size, f"index lists {key} but the store has {present.get(key)}"
    for key in present:
        assert hash_bytes(store.backend.get_bytes(key)) == key[4:]


def test_eight_processes_with_overlapping_sets_lose_nothing(store_url, tmp_path):
    shared = make_files(tmp_path / "shared", {f"tex{i}.exr": 20_000 + i for i in range(6)})
    sets = []
    for p in range(N_PROCS):
        own = make_files(tmp_path / f"artist{p}", {f"shot{p}_{i}.abc": 5_000 + 7 * i for i in range(3)}, seed=str(p))
        sets.append(shared[p % 3: p % 3 + 4] + own)
    procs = [_popen(["upload", "--manifest", _manifest(tmp_path, f"m{p}", s), "--json"],
                    cli_env(store_url, tmp_path, f"m{p}")) for p, s in enumerate(sets)]
    outs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outs):
        assert proc.returncode == 0, err
        assert json.loads(out)["uploaded_files"] >= 3
    store = open_as(store_url, tmp_path, "checker")
    logical = {(e.root, e.path) for e in store.index.entries()}
    for s in sets:
        for path in s:
            assert ("_posix", path.lstrip("/")) in logical
    assert len(blob_keys(store)) == 6 + 3 * N_PROCS
    _assert_store_is_sound(store)
    assert store.index.verify(deep=True).ok


def test_sigkill_at_random_points_never_leaves_a_lying_index(store_url, tmp_path):
    """Ten rounds; each rewrites a dozen files, starts an upload and kills it: odd rounds at a
    random moment (often while hashing), even rounds as soon as the store holds a random number
    of the new blobs (mid-upload, or between the last blob and the index shard)."""
    rng = random.Random(1234)
    n = 40
    spec = {f"f{i:02d}.bin": 300_000 + i for i in range(n)}
    paths = make_files(tmp_path / "proj", spec)
    manifest = _manifest(tmp_path, "m", paths)
    env = cli_env(store_url, tmp_path, "crashy", {"CLOUDSUBMIT_CONFIG": str(_slow_config(tmp_path))})
    checker = open_as(store_url, tmp_path, "checker")
    mid_upload = 0
    for i in range(10):
        changed = rng.sample(sorted(spec), 12)
        make_files(tmp_path / "proj", {name: spec[name] for name in changed}, seed=f"round{i}")
        have, indexed = len(blob_keys(checker)), len(checker.index.entries())
        proc = _popen(["upload", "--manifest", manifest], env)
        if i % 2:
            time.sleep(rng.uniform(0.05, 0.8))
        else:
            target = have + rng.randint(1, 12)
            while proc.poll() is None and len(blob_keys(checker)) < target:
                time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        checker = open_as(store_url, tmp_path, "checker")
        _assert_store_is_sound(checker)
        mid_upload += len(blob_keys(checker)) > have and len(checker.index.entries()) == indexed
    assert mid_upload >= 3, "kills did not land mid-upload; the test proved nothing"
    present = {k[4:] for k in blob_keys(checker)}
    done = _popen(["upload", "--manifest", manifest, "--json"], env)
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    store = open_as(store_url, tmp_path, "final")
    current = {hash_bytes(open(p, "rb").read()) for p in paths}
    assert json.loads(out)["uploaded_files"] == len(current - present)  # nothing complete is sent twice
    latest = {(e.path, e.hash) for e in store.index.entries()}
    assert all((p.lstrip("/"), hash_bytes(open(p, "rb").read())) in latest for p in paths)
    _assert_store_is_sound(store)


def _slow_config(tmp):
    """One transfer thread, so a kill lands mid-batch rather than after it; every file its own
    blob (this proves blob-by-blob resume; killed pack uploads are test_store_packs.py's)."""
    cfg = tmp / "studio.yaml"
    cfg.write_text("store:\n  transfer:\n    threads: 1\n  packs:\n    max_file_kb: 0\n")
    return cfg
