"""Resolve and upload against a real directory store and a real S3 protocol (moto server)."""
from __future__ import annotations

import os
import shutil

import pytest

from cloudsubmit.errors import Cancelled
from cloudsubmit.store import UploadRefused, resolve, upload
from cloudsubmit.store.hashing import hash_bytes
from support.store_fixtures import blob_keys, make_files, open_as, store_url  # noqa: F401

SCENE = {"tex/a.exr": 30_000, "tex/b.exr": 20_000, "geo/c.abc": 50_000, "scene.ma": 1_000}


def submit(url, tmp, machine, paths, roots=None):
    """Resolve then upload; returns the resolution's summary as it was before the upload."""
    store = open_as(url, tmp, machine, roots)
    res = resolve(paths, store)
    before = dict(res.summary(), to_upload=[f.path for f in res.to_upload], via=sorted(f.via for f in res.files))
    rep = upload(res, store)
    store.close()
    return before, rep


def test_unchanged_second_submit_sends_nothing(store_url, tmp_path):
    paths = make_files(tmp_path / "proj", SCENE)
    res, rep = submit(store_url, tmp_path, "a", paths)
    assert res["to_upload_files"] == 4 and res["to_upload_bytes"] == sum(SCENE.values())
    assert rep.uploaded_files == 4 and rep.uploaded_bytes == sum(SCENE.values())
    res2, rep2 = submit(store_url, tmp_path, "a", paths)
    assert res2["to_upload_files"] == 0 and res2["skipped_files"] == 4
    assert rep2.uploaded_bytes == 0 and rep2.indexed_files == 0 and rep2.shard == ""
    assert res2["via"] == ["cache"] * 4  # this machine's own hashes come first: nothing is read


def test_teammate_uploads_only_the_difference_and_copies_cost_nothing(store_url, tmp_path):
    mine = make_files(tmp_path / "proj", SCENE)
    submit(store_url, tmp_path, "a", mine)
    extra = make_files(tmp_path / "proj", {"tex/new.exr": 7_000})
    res, rep = submit(store_url, tmp_path, "b", mine[:2] + extra)
    assert [os.path.basename(p) for p in res["to_upload"]] == ["new.exr"]
    assert rep.uploaded_files == 1 and rep.uploaded_bytes == 7_000

    copies = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "proj", copies)  # same bytes, other paths, other mtimes
    paths = [str(p) for p in copies.rglob("*") if p.is_file()]
    res, rep = submit(store_url, tmp_path, "c", paths)
    assert rep.uploaded_bytes == 0 and res["skipped_files"] == 5 and res["to_upload_bytes"] == 0
    assert rep.indexed_files == 5  # the new paths are now known to the team
    assert len(blob_keys(open_as(store_url, tmp_path, "c"))) == 5


def test_one_changed_file_reuploads_only_that(store_url, tmp_path):
    paths = make_files(tmp_path / "proj", SCENE)
    submit(store_url, tmp_path, "a", paths)
    changed = tmp_path / "proj" / "tex" / "b.exr"
    changed.write_bytes(b"new pixels" * 3000)
    res, rep = submit(store_url, tmp_path, "a", paths)
    assert res["to_upload"] == [changed.as_posix()]
    assert rep.uploaded_files == 1 and rep.uploaded_bytes == 30_000
    assert res["via"] == ["cache", "cache", "cache", "hashed"]


def test_teammate_fast_path_skips_hashing_across_mount_points(store_url, tmp_path):
    """Same logical path (root 'gs' mounted elsewhere), same size and mtime: never hashed, only
    probed (three 4 KiB windows checked against the probe the uploader recorded)."""
    a_root, b_root = tmp_path / "mnt_a", tmp_path / "mnt_b"
    paths = make_files(a_root, SCENE)
    submit(store_url, tmp_path, "a", paths, roots={"gs": str(a_root)})
    shutil.copytree(a_root, b_root)  # copy2 keeps mtime_ns
    b_paths = [p.replace(str(a_root), str(b_root)) for p in paths]
    store = open_as(store_url, tmp_path, "b", {"gs": str(b_root)})
    res = resolve(b_paths, store, progress=lambda rep: pytest.fail(f"{rep.stage}: nothing should be read"))
    assert {(f.root, f.via, f.state) for f in res.files} == {("gs", "team", "in_store")}
    assert store.hash_cache.lookup([f.stat for f in res.files]) == {}  # machine b never hashed them


def test_every_blob_hashes_to_its_name_and_index_entries_are_complete(store_url, tmp_path):
    paths = make_files(tmp_path / "proj", SCENE)
    _, rep = submit(store_url, tmp_path, "a", paths)
    store = open_as(store_url, tmp_path, "a")
    for key in blob_keys(store):
        assert hash_bytes(store.backend.get_bytes(key)) == key[len("cas/"):]
    entries = store.index.entries()
    assert {e.path.rsplit("/", 1)[-1] for e in entries} == {"a.exr", "b.exr", "c.abc", "scene.ma"}
    assert all(e.root == "_posix" and e.size and e.mtime_ns and e.user for e in entries)
    assert store.index.verify(deep=True).ok


def test_file_changed_after_resolve_is_refused_and_never_stored(store_url, tmp_path):
    paths = make_files(tmp_path / "proj", {"x.bin": 8_000, "y.bin": 9_000})
    store = open_as(store_url, tmp_path, "a")
    res = resolve(paths, store)
    st = os.stat(paths[0])
    with open(paths[0], "r+b") as f:  # same size, same mtime, different bytes: only the hash can tell
        f.write(b"tampered")
    os.utime(paths[0], ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(UploadRefused) as err:
        upload(res, store)
    rep = err.value.report
    assert [r["path"] for r in rep.refused] == [res.files[0].path] and "x.bin" in err.value.message
    assert rep.uploaded_files == 1
    assert blob_keys(store) == ["cas/" + res.files[1].hash]
    fresh = open_as(store_url, tmp_path, "b")
    assert [e.path.rsplit("/", 1)[-1] for e in fresh.index.entries()] == ["y.bin"]


def test_cancel_records_only_completed_blobs(store_url, tmp_path):
    paths = make_files(tmp_path / "proj", {f"f{i}.bin": 200_000 for i in range(12)})
    store = open_as(store_url, tmp_path, "a", None, **{"store.transfer.threads": 2})
    res = resolve(paths, store)
    calls = []

    def progress(rep):
        calls.append(rep.done)
        return rep.done < 3

    with pytest.raises(Cancelled):
        upload(res, store, progress=progress)
    fresh = open_as(store_url, tmp_path, "b")
    indexed = {e.hash for e in fresh.index.entries()}
    assert indexed <= {k[4:] for k in blob_keys(fresh)} and len(indexed) < 12
    assert fresh.index.verify(deep=True).ok
    res2 = resolve(paths, fresh)
    rep2 = upload(res2, fresh)  # resume: blobs already complete are not sent again
    assert rep2.uploaded_files + len(indexed) <= 12
    assert fresh.index.verify().ok and len(open_as(store_url, tmp_path, "c").index.entries()) == 12


def test_progress_reports_every_byte_once(store_url, tmp_path):
    paths = make_files(tmp_path / "proj", {f"f{i}.bin": 100_000 + i for i in range(6)})
    store = open_as(store_url, tmp_path, "a")
    seen = []
    res = resolve(paths, store, progress=seen.append)
    assert seen[-1].stage == "hash" and seen[-1].bytes_done == seen[-1].bytes_total == sum(f.size for f in res.files)
    seen.clear()
    upload(res, store, progress=seen.append)
    last = seen[-1]
    assert (last.stage, last.done, last.total, last.bytes_done) == ("upload", 6, 6, last.bytes_total)


def test_embedded_default_store_is_created_under_the_user_data_dir(tmp_path, monkeypatch):
    from cloudsubmit.store import open_store

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("CLOUDSUBMIT_STORE", raising=False)
    store = open_store("", None)
    assert store.url == (tmp_path / "data" / "cloudsubmit" / "store").as_uri()
    paths = make_files(tmp_path / "p", {"a": 10})
    assert upload(resolve(paths, store), store).uploaded_files == 1


def test_nothing_credential_like_is_written(s3_bucket, tmp_path, monkeypatch):
    secret = "sEcReT-kEy-7f3a9"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDCLOUDSUBMITTEST")
    paths = make_files(tmp_path / "proj", SCENE)
    store = open_as(f"s3://{s3_bucket}/team", tmp_path, "a")
    upload(resolve(paths, store), store)
    store.close()
    written = [store.backend.get_bytes(k) for k, _ in store.backend.list("")]
    written += [p.read_bytes() for p in (tmp_path / "machine-a").rglob("*") if p.is_file()]
    for blob in written:
        data = blob if not blob[:2] == b"\x1f\x8b" else __import__("gzip").decompress(blob)
        assert secret.encode() not in data and b"AKIDCLOUDSUBMITTEST" not in data


def test_a_store_that_cannot_be_written_is_one_line_and_not_a_refused_file(tmp_path):
    """A directory store whose blob folder is a file (as good as a full or read-only share):
    the error names the store, not the artist's file, and nothing is indexed."""
    from cloudsubmit.errors import StoreError

    store_dir = tmp_path / "store"
    store_dir.mkdir()
    (store_dir / "cas").write_text("not a folder")
    paths = make_files(tmp_path / "p", {"a.exr": 100})
    store = open_as(store_dir.as_uri(), tmp_path, "a")
    with pytest.raises(StoreError) as err:
        upload(resolve(paths, store), store)
    assert err.value.message.startswith(f"store {store.url}: cannot write") and "a.exr" not in err.value.message
    assert not (store_dir / "index").exists()
