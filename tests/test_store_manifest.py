"""Job manifests: canonical bytes, immutability, and validation of everything read back."""
from __future__ import annotations

import json

import pytest

from cloudsubmit.errors import StoreError
from cloudsubmit.store.hashing import hash_bytes
from cloudsubmit.store.local import LocalBackend
from cloudsubmit.store.manifest import (
    Manifest, ManifestEntry, check_relpath, inputs_key, inputs_manifest, read_inputs, root_location, safe_join,
    write_inputs,
)

H1, H2 = hash_bytes(b"one"), hash_bytes(b"two")


def make(files=None, **kw):
    files = files if files is not None else [
        ManifestEntry("gs", "tex/b.exr", H2, 3, 5), ManifestEntry("gs", "tex/a.exr", H1, 3, 7),
    ]
    return Manifest(job_id=kw.get("job_id", "job-1"), roots=kw.get("roots", {"gs": "/gs"}), files=files)


def test_same_inputs_in_any_order_give_the_same_bytes():
    a = make()
    b = make(files=list(reversed(a.files)))
    assert a.to_bytes() == b.to_bytes()
    doc = json.loads(a.to_bytes())
    assert [f["path"] for f in doc["files"]] == ["tex/a.exr", "tex/b.exr"]
    assert b" " not in a.to_bytes() and b"\n" not in a.to_bytes()
    assert set(doc) == {"version", "job_id", "roots", "files"}
    assert Manifest.from_bytes(a.to_bytes()).to_bytes() == a.to_bytes()


def test_written_once_and_never_changed(tmp_path):
    store = LocalBackend(str(tmp_path / "store"))
    m = make()
    assert write_inputs(store, m) is True
    assert write_inputs(store, make()) is False  # a retried submit: identical bytes, fine
    changed = make(files=[ManifestEntry("gs", "tex/a.exr", H2, 3, 7)])
    with pytest.raises(StoreError, match="immutable"):
        write_inputs(store, changed)
    assert (tmp_path / "store" / inputs_key("job-1")).read_bytes() == m.to_bytes()
    assert read_inputs(store, "job-1").files == m.files


@pytest.mark.parametrize("path", [
    "../etc/passwd", "a/../../b", "/etc/passwd", "C:/Windows/x", "c:x", "a//b", "./a", "a/./b",
    "a\\..\\b", "", "a/\x00b", "a/",
])
def test_unsafe_paths_are_refused_on_read(tmp_path, path):
    store = LocalBackend(str(tmp_path / "store"))
    doc = {"version": 1, "job_id": "job-1", "roots": {"gs": "/gs"},
           "files": [{"root": "gs", "path": path, "hash": H1, "size": 3, "mtime_ns": 0}]}
    store.put_bytes(inputs_key("job-1"), json.dumps(doc).encode())
    with pytest.raises(StoreError) as info:
        read_inputs(store, "job-1")
    msg = info.value.message
    assert "\n" not in msg and inputs_key("job-1") in msg and "refusing" in msg
    assert info.value.exit_code == 2


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: d["files"][0].update(root="nope"), "unknown root"),
    (lambda d: d["files"][0].update(hash="zz"), "invalid hash"),
    (lambda d: d["files"][0].update(size=-1), "non-negative"),
    (lambda d: d["files"].append(dict(d["files"][0])), "listed twice"),
    (lambda d: d.update(job_id="../x"), "invalid job id"),
    (lambda d: d.update(roots={"../r": "/gs"}), "invalid root name"),
    (lambda d: d.update(version=99), "unsupported manifest version"),
    (lambda d: d["files"][0].pop("hash"), "missing 'hash'"),
])
def test_malformed_manifests_are_refused_with_one_line(mutate, needle):
    doc = json.loads(make().to_bytes())
    mutate(doc)
    with pytest.raises(StoreError, match=needle) as info:
        Manifest.from_bytes(json.dumps(doc).encode(), source="jobs/job-1/inputs.json")
    assert "\n" not in info.value.message


def test_not_json_is_refused():
    with pytest.raises(StoreError, match="not a manifest"):
        Manifest.from_bytes(b"\xff\xfe garbage", source="x.json")


def test_safe_join_follows_symlinks(tmp_path):
    base = tmp_path / "out"
    (base / "sub").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (base / "escape").symlink_to(outside)
    (base / "inside").symlink_to(base / "sub")
    assert safe_join(str(base), "sub/a.exr") == str(base / "sub" / "a.exr")
    assert safe_join(str(base), "inside/a.exr") == str(base / "inside" / "a.exr")
    with pytest.raises(StoreError, match="escape/a.exr"):
        safe_join(str(base), "escape/a.exr", "entry out/escape/a.exr")
    assert check_relpath("frames/beauty.0001.exr") == "frames/beauty.0001.exr"


class Resolved:
    """The shape of a resolved file (store-core's FileState): only the fields the manifest reads."""

    def __init__(self, path, root, logical, data=b"", mtime_ns=1):
        self.path, self.root, self.logical = path, root, logical
        self.hash = hash_bytes(data) if data else ""
        self.size, self.mtime_ns = len(data), mtime_ns


def test_inputs_manifest_from_resolved_files():
    files = [
        Resolved("/gs/shot/tex/a.exr", "gs", "shot/tex/a.exr", b"aaa"),
        Resolved("/gs/shot/scene.ma", "gs", "shot/scene.ma", b"scene"),
        Resolved("Z:/lib/sky.hdr", "_drive_z", "lib/sky.hdr", b"sky"),
        Resolved("/opt/x/missing.exr", "_posix", "opt/x/missing.exr"),  # missing: no hash, left out
    ]
    m = inputs_manifest("shotA", files, extra_roots={"renders": "/renders"}, output_dirs=["/renders/shot/beauty/"])
    assert m.roots == {"gs": "/gs", "_drive_z": "Z:/", "renders": "/renders"}
    assert m.outputs == {"beauty": "/renders/shot/beauty"}
    assert Manifest.from_bytes(m.to_bytes()).outputs == m.outputs
    assert [(e.root, e.path) for e in m.files] == [("_drive_z", "lib/sky.hdr"), ("gs", "shot/scene.ma"), ("gs", "shot/tex/a.exr")]
    assert root_location("/top.exr", "top.exr") == "/"
    same_drive = inputs_manifest("shotA", files[2:3] + [Resolved("z:/lib/b.hdr", "_drive_z", "lib/b.hdr", b"b")])
    assert same_drive.roots == {"_drive_z": "Z:/"} and len(same_drive.files) == 2
    with pytest.raises(StoreError, match="root 'gs' is at /gs"):
        inputs_manifest("shotA", files + [Resolved("/mnt/gs/b.exr", "gs", "b.exr", b"b")])
