"""S3 specifics on the moto server: multipart with additional checksums, an aborted multipart
upload when the content is not what was hashed, key prefixes, a bare HEAD 404 for a missing
bucket."""
from __future__ import annotations

import os

import pytest

from cloudsubmit.errors import StoreError
from cloudsubmit.store import UploadRefused, resolve, upload
from store_fixtures import open_as

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
