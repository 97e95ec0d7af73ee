"""Which index claims the team fast path trusts, and repair of blobs the index lies about.

A claim is trusted (``store.trust_team_index: probe``, store/claims.py) only when it is the only
hash claimed for that (root, path, size, mtime_ns), its blob is indexed with that size, and the
file here has the probe (start, middle and end windows) the blob's uploaders recorded; a job's
inputs manifest names only hashes this machine computed or that passed that rule. `index verify
--claims` checks claims against files on disk;
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


BIG = 40_000  # more than three probe windows: the probe reads 12 KiB of it, not all of it


def _forged_sole_claim(store_url, tmp_path, probe_of=None):
    """a uploads a.exr and b.exr (same size); nobody uploads c.exr; x forges the only claim for
    c.exr's exact version, naming b's blob (and, when asked, a probe)."""
    from cloudsubmit.store.claims import probe_file

    gs = tmp_path / "gs"
    pa, pb, pc = make_files(gs / "shot", {"a.exr": BIG, "b.exr": BIG, "c.exr": BIG})
    roots = {"gs": str(gs)}
    a = open_as(store_url, tmp_path, "a", roots)
    upload(resolve([pa, pb], a, a.config), a)
    x = open_as(store_url, tmp_path, "x")
    st = os.stat(pc)
    lie = dict(hash=hash_file(pb), size=BIG, root="gs", path="shot/c.exr", mtime_ns=st.st_mtime_ns)
    if probe_of:
        lie["probe"] = probe_file(probe_of, BIG)
    _claim(x.backend, **lie)
    return (pa, pb, pc), roots


def _job_bytes(store_url, tmp_path, roots, files, job_id, **cfg):
    """A fresh machine's upload stage (resolve, send, manifest), then a render node's materialise:
    the manifest's hashes, and the bytes the node got for each file."""
    from cloudsubmit.store.layouts import materialise_job, resolve_inputs, send_inputs
    from cloudsubmit.store.manifest import inputs_manifest, write_inputs

    m = open_as(store_url, tmp_path, f"fresh-{job_id}", roots, **cfg)
    res = resolve_inputs(files, m, m.config)
    send_inputs(res, m)
    manifest = inputs_manifest(job_id, res.files)
    write_inputs(m.backend, manifest)
    node = open_as(store_url, tmp_path, "node", roots)
    rep = materialise_job(node.backend, job_id, str(tmp_path / "session" / job_id), node.config)
    got = {e.path: (tmp_path / "session" / job_id / e.root / e.path).read_bytes() for e in manifest.files}
    return res, got, rep


def test_a_forged_sole_claim_never_reaches_a_job(store_url, tmp_path):
    """The gap the size rule left: the only claim for c.exr's version names b's blob (same size).
    Without a probe, with b's true probe, or with c's own probe (whoever wrote it read c): each
    time the fresh machine hashes c.exr itself and the job gets c.exr's bytes."""
    from cloudsubmit.store.claims import probe_file

    (pa, pb, pc), roots = _forged_sole_claim(store_url, tmp_path)
    x = open_as(store_url, tmp_path, "x2")
    st = os.stat(pc)
    for i, probe in enumerate((probe_file(pb, BIG), probe_file(pc, BIG))):  # then b's blob has two probes
        _claim(x.backend, hash=hash_file(pb), size=BIG, root="gs", path="shot/c.exr", mtime_ns=st.st_mtime_ns,
               probe=probe)
        res, got, _rep = _job_bytes(store_url, tmp_path, roots, [pa, pc], f"j{i}")
        fc = next(f for f in res.files if f.path.endswith("c.exr"))
        assert fc.via == "hashed" and fc.hash == hash_file(pc)
        assert got["shot/c.exr"] == open(pc, "rb").read() and got["shot/a.exr"] == open(pa, "rb").read()


def test_a_forged_sole_claim_without_a_probe_is_hashed(store_url, tmp_path):
    (pa, _pb, pc), roots = _forged_sole_claim(store_url, tmp_path)
    res, got, _rep = _job_bytes(store_url, tmp_path, roots, [pa, pc], "j1")
    assert [(f.via, f.hash) for f in res.files] == [("team", hash_file(pa)), ("hashed", hash_file(pc))]
    assert got["shot/c.exr"] == open(pc, "rb").read()  # a.exr's true claim still spared hashing it


def test_trust_modes_size_and_never(store_url, tmp_path):
    """``size`` is the old rule (nothing read, for a store only the studio's own machines write):
    it takes the forged claim, and the node then gets b's bytes for c.exr, which is why it is not
    the default; ``never`` hashes every file, true claims included."""
    (pa, pb, pc), roots = _forged_sole_claim(store_url, tmp_path)
    res = resolve([pa, pc], open_as(store_url, tmp_path, "s", roots, **{"store.trust_team_index": "size"}))
    assert [f.via for f in res.files] == ["team", "team"] and res.files[1].hash == hash_file(pb)
    res = resolve([pa, pc], open_as(store_url, tmp_path, "n", roots, **{"store.trust_team_index": "never"}))
    assert [(f.via, f.hash) for f in res.files] == [("hashed", hash_file(pa)), ("hashed", hash_file(pc))]


def test_the_probe_reads_three_windows_and_entries_without_one_gain_it(store_url, tmp_path):
    """What the rule cannot see, pinned: a claim naming a blob that differs from the file only
    outside the three windows passes (`index verify --claims` still finds it). And entries an
    older cloudsubmit wrote (no probe) are hashed by a fresh machine, whose upload then records
    the probe, so the next fresh machine takes the fast path."""
    from cloudsubmit.store.claims import WINDOW

    gs = tmp_path / "gs"
    (pb,) = make_files(gs / "shot", {"b.exr": BIG})
    pc = str(gs / "shot" / "c.exr")
    data = bytearray(open(pb, "rb").read())
    data[WINDOW + 10] ^= 0xFF  # outside the start, middle and end windows
    open(pc, "wb").write(bytes(data))
    roots = {"gs": str(gs)}
    a = open_as(store_url, tmp_path, "a", roots)
    upload(resolve([pb], a, a.config), a)
    st = os.stat(pc)
    _claim(a.backend, hash=hash_file(pb), size=BIG, root="gs", path="shot/c.exr", mtime_ns=st.st_mtime_ns,
           probe=a.index.refresh().probe(hash_file(pb)))
    b = open_as(store_url, tmp_path, "b", roots)
    assert resolve([pc], b, b.config).files[0].via == "team"  # the documented limit
    assert len(b.index.verify_claims(Roots(roots).local_path).wrong) == 1

    (pd,) = make_files(gs / "old", {"d.exr": BIG})
    st = os.stat(pd)
    _claim(a.backend, hash=hash_file(pd), size=BIG, root="gs", path="old/d.exr", mtime_ns=st.st_mtime_ns)
    a.backend.put_bytes("cas/" + hash_file(pd), open(pd, "rb").read())  # as an older version left it
    c = open_as(store_url, tmp_path, "c", roots)
    res = resolve([pd], c, c.config)
    assert (res.files[0].via, res.files[0].state) == ("hashed", "in_store")
    rep = upload(res, c)
    assert (rep.uploaded_files, rep.indexed_files) == (0, 1)  # the same fact again, now with its probe
    d = open_as(store_url, tmp_path, "d", roots)
    assert resolve([pd], d, d.config).files[0].via == "team"
