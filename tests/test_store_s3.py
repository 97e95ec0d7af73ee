"""S3 specifics on the moto server: multipart with additional checksums, an aborted multipart
upload when the content is not what was hashed, key prefixes, a bare HEAD 404 for a missing
bucket."""
from __future__ import annotations

import os

import pytest

from cloudsubmit.errors import StoreError
from cloudsubmit.store import UploadRefused, resolve, upload
from support.store_fixtures import open_as

MULTIPART = {"store.s3.multipart_threshold_mb": 5, "store.s3.multipart_chunksize_mb": 5}


def test_large_file_goes_up_in_parts_with_checksums(s3_bucket, s3_server, tmp_path):
    big = tmp_path / "cache.vdb"
    big.write_bytes(os.urandom(12 * 1024 * 1024))
    store = open_as(f"s3://{s3_bucket}/team", tmp_path, "a", None, **MULTIPART)
    res = resolve([str(big)], store)
    rep = upload(res, store)
    assert rep.uploaded_bytes == 12 * 1024 * 1024
    head = s3_server.client().head_object(Bucket=s3_bucket, Key=f"team/cas/{res.files[0].hash}", ChecksumMode="ENABLED")
    assert head["ContentLength"] == 12 * 1024 * 1024
    assert head.get("ChecksumCRC32") and "-3" in head["ETag"]  # three parts, each CRC32-checked by the server
    assert store.index.verify(deep=True).ok


def test_content_not_matching_its_hash_aborts_the_multipart_upload(s3_bucket, s3_server, tmp_path):
    big = tmp_path / "cache.vdb"
    big.write_bytes(os.urandom(12 * 1024 * 1024))
    store = open_as(f"s3://{s3_bucket}/team", tmp_path, "a", None, **MULTIPART)
    res = resolve([str(big)], store)
    st = os.stat(big)
    with open(big, "r+b") as f:  # the last part changes; size and mtime stay: only the hash can tell
        f.seek(11 * 1024 * 1024)
        f.write(b"late write")
    os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(UploadRefused) as err:
        upload(res, store)
    rep = err.value.report
    assert rep.refused and rep.uploaded_files == 0 and rep.shard == "" and err.value.exit_code == 1
    client = s3_server.client()
    assert client.list_objects_v2(Bucket=s3_bucket).get("KeyCount") == 0
    assert not client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads")


def test_missing_bucket_on_head_is_named(s3_server, tmp_path, monkeypatch):
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    store = open_as("s3://bucket-that-is-not-there/x", tmp_path, "a")
    with pytest.raises(StoreError) as err:
        store.backend.size("cas/abc")
    assert err.value.exit_code == 2 and "bucket-that-is-not-there does not exist" in err.value.message


def test_prefix_keeps_stores_apart_in_one_bucket(s3_bucket, tmp_path):
    f = tmp_path / "a.exr"
    f.write_bytes(b"pixels" * 100)
    one = open_as(f"s3://{s3_bucket}/show1", tmp_path, "a")
    upload(resolve([str(f)], one), one)
    two = open_as(f"s3://{s3_bucket}/show2", tmp_path, "b")
    assert len(resolve([str(f)], two).to_upload) == 1
    assert [k for k, _ in one.backend.list("")][0].startswith("cas/")


# --- transient (retried by the transfer runner) versus permanent failures ----------------------

@pytest.mark.parametrize("code, status, transient, exit_code", [
    ("SlowDown", 503, True, 1),
    ("Throttling", 400, True, 1),
    ("RequestLimitExceeded", 400, True, 1),
    ("503", 503, True, 1),  # a HEAD has no body: only the status
    ("InternalError", 500, True, 1),
    ("BadGateway", 502, True, 1),
    ("NoSuchBucket", 404, False, 2),
    ("AccessDenied", 403, False, 2),
    ("InvalidAccessKeyId", 403, False, 2),
])
def test_botocore_errors_are_transient_only_when_a_retry_can_help(code, status, transient, exit_code):
    from botocore.exceptions import ClientError

    from cloudsubmit.store.s3 import S3Backend
    from cloudsubmit.store.transfer import is_transient

    exc = ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")
    err = S3Backend("s3://bkt/x").translate(exc, "cas/abc")
    assert (is_transient(err), err.exit_code) == (transient, exit_code)
    assert "\n" not in err.message and err.message.startswith("store s3://bkt/x")


def test_connection_errors_are_transient_and_missing_credentials_are_not():
    from botocore.exceptions import NoCredentialsError, ReadTimeoutError, SSLError

    from cloudsubmit.store.s3 import S3Backend
    from cloudsubmit.store.transfer import is_transient

    backend = S3Backend("s3://bkt")
    assert is_transient(backend.translate(ReadTimeoutError(endpoint_url="http://s3"), "k"))
    assert not is_transient(backend.translate(SSLError(endpoint_url="http://s3", error="bad certificate"), "k"))
    no_creds = backend.translate(NoCredentialsError(), "k")
    assert not is_transient(no_creds) and no_creds.exit_code == 2


def _put_through_runner(backend, tmp_path, attempts):
    """Send one real file through run_transfers; returns how often it was tried and the error."""
    from cloudsubmit.store.transfer import TransferItem, run_transfers

    src = tmp_path / "a.exr"
    src.write_bytes(b"pixels" * 100)
    calls = []

    def put(on_bytes):
        calls.append(1)
        backend.put_file("cas/abc", str(src), on_bytes=on_bytes)

    with pytest.raises(StoreError) as err:
        run_transfers([TransferItem("cas/abc", 600, put)], attempts=attempts, backoff=0.01)
    return calls, err


def test_refused_connection_is_retried_then_given_up_in_one_line(s3_server, monkeypatch, tmp_path):
    """A closed loopback port: the runner tries the file ``attempts`` times, then one line, exit 1."""
    from support.s3server import _free_port

    from cloudsubmit.store.s3 import S3Backend
    from cloudsubmit.store.transfer import is_transient

    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    backend = S3Backend("s3://bkt/x", {"endpoint_url": f"http://127.0.0.1:{_free_port()}", "max_attempts": 1})
    with pytest.raises(StoreError) as direct:
        backend.size("cas/abc")
    assert is_transient(direct.value) and direct.value.exit_code == 1
    calls, err = _put_through_runner(backend, tmp_path, attempts=3)
    assert len(calls) == 3 and err.value.exit_code == 1
    line = err.value.message
    assert "\n" not in line and "Could not connect" in line and "127.0.0.1" in line and "gave up after 3 attempts" in line


def test_missing_bucket_is_permanent_and_tried_once(s3_server, monkeypatch, tmp_path):
    from cloudsubmit.store.s3 import S3Backend
    from cloudsubmit.store.transfer import is_transient

    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    backend = S3Backend("s3://bucket-that-is-not-there/x", {"max_attempts": 1})
    calls, err = _put_through_runner(backend, tmp_path, attempts=3)
    assert len(calls) == 1 and err.value.exit_code == 2 and not is_transient(err.value)
    assert err.value.message.endswith("bucket bucket-that-is-not-there does not exist")


def test_a_small_blob_changed_after_hashing_is_refused_by_the_streamed_put(s3_bucket, s3_server, tmp_path):
    """Below the multipart threshold the body is streamed (and read again by the client for its
    checksum): a change the hash alone can tell still stores nothing."""
    tex = tmp_path / "wall.tx"
    tex.write_bytes(os.urandom(3 * 1024 * 1024))
    store = open_as(f"s3://{s3_bucket}/team", tmp_path, "a", None)
    res = resolve([str(tex)], store)
    st = os.stat(tex)
    with open(tex, "r+b") as f:
        f.seek(2 * 1024 * 1024)
        f.write(b"late write")
    os.utime(tex, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(UploadRefused) as err:
        upload(res, store)
    assert err.value.report.refused and err.value.report.uploaded_files == 0
    assert s3_server.client().list_objects_v2(Bucket=s3_bucket).get("KeyCount") == 0


def _upload_peak_rss_mb(files, tmp_path, s3_server, bucket, name, sets=()) -> float:
    """The upload command's own peak RSS (support/peakrss: its ``wait4`` alone would start from
    this pytest process's peak, and two such figures would compare pytest with itself)."""
    import json
    import sys
    import tempfile
    from pathlib import Path

    from support.peakrss import run_measured

    manifest = tmp_path / f"{name}.json"
    manifest.write_text(json.dumps({"files": [str(f) for f in files]}), encoding="utf-8")
    env = dict(os.environ, **s3_server.env, CLOUDSUBMIT_USER_CONFIG=os.devnull,
               PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    with tempfile.TemporaryFile() as err:
        overrides = [a for kv in sets for a in ("--set", kv)]
        run = run_measured([sys.executable, "-m", "cloudsubmit", *overrides, "--set", f"store.hash_cache={tmp_path / name / 'h.sqlite'}",
                            "upload", "--store", f"s3://{bucket}/{name}", "--manifest", str(manifest)],
                           env=env, stderr=err)
        err.seek(0)
        assert run.code == 0, err.read().decode()
    assert run.peak_mb > run.floor_mb, "the upload's peak is hidden under the launcher's own"
    return run.peak_mb


def _one_small_and_four_big(folder, name, mb):
    """A 1 MB file and four random ``mb`` MB files (``name`` formatted with 0-3), written a MB at a time."""
    small = folder / "small.tx"
    small.write_bytes(os.urandom(1024 * 1024))
    big = []
    for i in range(4):
        p = folder / name.format(i)
        with open(p, "wb") as f:
            for _ in range(mb):
                f.write(os.urandom(1024 * 1024))
        big.append(p)
    return small, big


def test_upload_memory_does_not_grow_with_the_blob_sizes(s3_bucket, s3_server, tmp_path):
    """Four 48 MB blobs (below the multipart threshold, sent on four threads) cost about what one
    1 MB blob costs: each is streamed in blocks, never read whole into memory (reading even one
    whole would cost 48 MB more)."""
    small, big = _one_small_and_four_big(tmp_path, "cache{}.vdb", 48)
    base = _upload_peak_rss_mb([small], tmp_path, s3_server, s3_bucket, "one")
    peak = _upload_peak_rss_mb(big, tmp_path, s3_server, s3_bucket, "four")
    assert s3_server.client().list_objects_v2(Bucket=s3_bucket, Prefix="four/cas/").get("KeyCount") == 4
    assert peak - base < 24, f"{peak:.0f} MB for four 48 MB blobs vs {base:.0f} MB for one 1 MB blob"


def test_multipart_upload_memory_is_bounded_by_the_setting(s3_bucket, s3_server, tmp_path):
    """Four 40 MB blobs sent in 5 MB parts with ``store.s3.upload_memory_mb`` at 20: what the
    upload holds beyond a one-file upload stays near the setting (s3transfer used to read a whole
    multipart threshold ahead per upload, and glibc kept the freed parts on its heaps), and does
    not follow the blob sizes."""
    small, big = _one_small_and_four_big(tmp_path, "sim{}.bgeo", 40)
    sets = ["store.s3.multipart_threshold_mb=8", "store.s3.multipart_chunksize_mb=5", "store.s3.upload_memory_mb=20"]
    base = _upload_peak_rss_mb([small], tmp_path, s3_server, s3_bucket, "one", sets)
    peak = _upload_peak_rss_mb(big, tmp_path, s3_server, s3_bucket, "four", sets)
    got = s3_server.client().list_objects_v2(Bucket=s3_bucket, Prefix="four/cas/")
    assert sorted(o["Size"] for o in got["Contents"]) == [40 * 1024 * 1024] * 4
    assert peak - base < 20 * 1.5, f"{peak:.0f} MB for four 40 MB blobs vs {base:.0f} MB for one 1 MB blob"
