"""Which index claims the team fast path trusts, and repair of blobs the index lies about.

A claim is trusted only when it is the only hash claimed for that (root, path, size, mtime_ns) and
its blob is indexed with that size; `index verify --claims` checks claims against files on disk;
`upload --recheck` hashes every file itself and re-sends lost, short and same-size-wrong blobs.
Each state is built on a directory store and on S3 (moto)."""
from __future__ import annotations

import gzip
import json
import os

from cloudsubmit.store import resolve, upload
from cloudsubmit.store.hashing import hash_file
from cloudsubmit.store.index import FORMAT, new_shard_key
from cloudsubmit.store.roots import Roots
from support.store_fixtures import cli_env, make_files, open_as, store_url  # noqa: F401


def _claim(backend, **entry) -> str:
    key = new_shard_key()
    data = gzip.compress(json.dumps({"format": FORMAT, "entries": [dict(user="x", time=0.0, **entry)]}).encode())
    backend.put_bytes(key, data, if_absent=True)
    return key


def _studio(url, tmp_path):
    gs = tmp_path / "gs"
    paths = make_files(gs / "shot", {"a.exr": 5000, "b.exr": 5000})  # same size, other bytes
    roots = {"gs": str(gs)}
    a = open_as(url, tmp_path, "a", roots)
    upload(resolve(paths, a, a.config), a)
    return paths, roots


def test_a_conflicting_claim_is_never_trusted(store_url, tmp_path):
    (pa, pb), roots = _studio(store_url, tmp_path)
    x = open_as(store_url, tmp_path, "x")
    st = os.stat(pa)
    lie = _claim(x.backend, hash=hash_file(pb), size=st.st_size, root="gs", path="shot/a.exr", mtime_ns=st.st_mtime_ns)
    b = open_as(store_url, tmp_path, "b", roots)
    (fa,) = resolve([pa], b, b.config).files
    assert fa.via == "hashed" and fa.hash == hash_file(pa)  # read here, not taken from either claim
    claims = b.index.verify_claims(Roots(roots).local_path)
    assert claims.conflicts == 2 and len(claims.wrong) == 1 and lie in claims.wrong[0] and "shot/a.exr" in claims.wrong[0]


def test_a_sole_false_claim_is_found_by_verify_claims_and_undone_by_recheck(cli, store_url, tmp_path):
    (pa, pb), roots = _studio(store_url, tmp_path)
    new = make_files(tmp_path / "gs" / "shot", {"c.exr": 5000}, seed="new")[0]  # nobody uploaded it yet
    x = open_as(store_url, tmp_path, "x")
    st = os.stat(new)
    _claim(x.backend, hash=hash_file(pb), size=st.st_size, root="gs", path="shot/c.exr", mtime_ns=st.st_mtime_ns)
    env = cli_env(store_url, tmp_path, "cli")
    env["CLOUDSUBMIT_CONFIG"] = str(tmp_path / "studio.yaml")
    (tmp_path / "studio.yaml").write_text(json.dumps({"paths": {"roots": roots}}))
    (tmp_path / "m.json").write_text(json.dumps({"files": [new]}))
    found = cli("index", "verify", "--claims", "--json", env=env)
    out = json.loads(found.stdout)
    assert found.returncode == 1 and out["claims_checked"] == 3 and len(out["wrong_claims"]) == 1, found.stderr
    fixed = cli("upload", "--manifest", str(tmp_path / "m.json"), "--recheck", "--json", env=env)
    assert fixed.returncode == 0 and json.loads(fixed.stdout)["uploaded_files"] == 1, fixed.stderr
    b = open_as(store_url, tmp_path, "b", roots)
    (fc,) = resolve([new], b, b.config).files
    assert fc.via == "hashed" and fc.hash == hash_file(new)  # the lie is now a conflict: never trusted


def test_recheck_resends_absent_and_same_size_wrong_blobs(cli, store_url, tmp_path):
    (pa, pb), roots = _studio(store_url, tmp_path)
    x = open_as(store_url, tmp_path, "x")
    x.backend.delete("cas/" + hash_file(pa))                      # the index lists it, the store lost it
    x.backend.put_bytes("cas/" + hash_file(pb), b"\0" * 5000)     # right size, wrong content
    env = cli_env(store_url, tmp_path, "cli")
    env["CLOUDSUBMIT_CONFIG"] = str(tmp_path / "studio.yaml")
    (tmp_path / "studio.yaml").write_text(json.dumps({"paths": {"roots": roots}}))
    (tmp_path / "m.json").write_text(json.dumps({"files": [pa, pb]}))
    deep = cli("index", "verify", "--deep", "--json", env=env)
    assert deep.returncode == 1
    for _ in range(2):  # the second run has nothing left to fix
        res = cli("upload", "--manifest", str(tmp_path / "m.json"), "--recheck", "--json", env=env)
        assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["uploaded_files"] == 0
    ok = cli("index", "verify", "--deep", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_a_trailing_newline_is_no_digest_and_no_name(store_url, tmp_path):
    """Every digest and name check is a fullmatch: '^...$' with match() took '<32 hex>\\n'."""
    from cloudsubmit.errors import StoreError
    from cloudsubmit.storekeys import check_name, is_digest
    from cloudsubmit.store.index import entry_problem
    from cloudsubmit.store.manifest import MANIFEST_VERSION, read_inputs

    digest = "0123456789abcdef" * 2
    assert is_digest(digest) and not is_digest(digest + "\n") and not is_digest(digest.upper())
    good = dict(hash=digest, size=1, root="gs", path="a.exr", mtime_ns=1)
    assert entry_problem(good) is None
    assert entry_problem(dict(good, hash=digest + "\n")) == "hash is not a 32-digit lowercase hex digest"
    assert entry_problem(dict(good, root="gs\n")) == "root is not a root name"
    for name in ("j1\n", "j1\n\n"):
        try:
            check_name(name, "job id")
        except StoreError as exc:
            assert exc.exit_code == 2
        else:
            raise AssertionError(f"{name!r} accepted as a job id")
    x = open_as(store_url, tmp_path, "x")
    x.backend.put_bytes("jobs/j1/inputs.json", json.dumps({
        "version": MANIFEST_VERSION, "job_id": "j1", "roots": {"gs": "/gs"},
        "files": [dict(root="gs", path="a.exr", hash=digest + "\n", size=1, mtime_ns=1)]}).encode())
    try:
        read_inputs(x.backend, "j1")
    except StoreError as exc:
        assert "invalid hash" in exc.message and "gs/a.exr" in exc.message
    else:
        raise AssertionError("a manifest hash with a trailing newline was accepted")
