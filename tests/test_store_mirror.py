"""The mirror layout: keys = root-relative paths, as in the studio's s3fs-at-/gs setup."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from cloudsubmit.config import load_config
from cloudsubmit.errors import ConfigError, StoreError
from cloudsubmit.store.hashing import hash_file
from cloudsubmit.store.manifest import Manifest, ManifestEntry, write_inputs
from cloudsubmit.store.pathmap import map_path
from cloudsubmit.store.mirror import MirrorLayout, check_mirror, index_skip, materialise_mirror, push_mirror
from support.storetools import CountingBackend, payload, write_tree

SHOT = "work/neo/cloudTest"


def entries_for(root_dir: Path, root: str, rels):
    out = []
    for rel in rels:
        p = root_dir / rel
        st = p.stat()
        out.append((ManifestEntry(root, rel, hash_file(str(p)), st.st_size, st.st_mtime_ns), str(p)))
    return out


@pytest.fixture
def studio(tmp_path):
    gs = write_tree(tmp_path / "onprem" / "gs", {
        f"{SHOT}/scene.ma": payload(1), f"{SHOT}/render/layout_Arnold.0001.exr": payload(2, 40000),
        f"{SHOT}/tex/wall.tx": payload(3), f"{SHOT}/tex/wall_copy.tx": payload(3),
    })
    lib = write_tree(tmp_path / "onprem" / "lib", {"hdri/sky.hdr": payload(4)})
    bucket = CountingBackend(str(tmp_path / "bucket"))
    # On the cloud nodes s3fs shows the bucket at the mount; here the bucket folder is that view.
    layout = MirrorLayout(mount=str(tmp_path / "bucket"), prefixes={"gs": ""})
    return {"gs": gs, "lib": lib, "bucket": bucket, "layout": layout, "mount": tmp_path / "bucket"}


def test_keys_are_root_relative_paths_like_the_studio_setup(studio):
    files = entries_for(studio["gs"], "gs", [f"{SHOT}/scene.ma", f"{SHOT}/render/layout_Arnold.0001.exr",
                                            f"{SHOT}/tex/wall.tx", f"{SHOT}/tex/wall_copy.tx"])
    files += entries_for(studio["lib"], "lib", ["hdri/sky.hdr"])
    summary, sent = push_mirror(studio["bucket"], studio["layout"], files)
    assert summary.files == 5 and len(sent) == 5  # same content at two paths: two keys in a mirror
    mount = studio["mount"]
    for e, src in files:
        on_node = map_path(src, studio["layout"].rules({"gs": str(studio["gs"]), "lib": str(studio["lib"])}))
        assert Path(on_node).read_bytes() == Path(src).read_bytes()
    assert (mount / SHOT / "render/layout_Arnold.0001.exr").is_file()  # /gs/work/... -> key work/...
    assert (mount / "lib/hdri/sky.hdr").is_file()  # an unlisted root keeps its name as prefix


def test_same_path_on_premises_and_on_nodes_needs_no_mapping():
    layout = MirrorLayout(mount="/gs", prefixes={"gs": ""})
    assert layout.rules({"gs": "/gs"}) == []
    assert layout.rules({"gs": "Z:/", "lib": "/mnt/lib"}) == [("/mnt/lib", "/gs/lib"), ("Z:/", "/gs/")]
    assert map_path("Z:/work/neo/a.exr", layout.rules({"gs": "Z:/"})) == "/gs/work/neo/a.exr"


def test_the_index_decides_what_is_skipped(studio):
    rels = [f"{SHOT}/scene.ma", f"{SHOT}/tex/wall.tx"]
    first = entries_for(studio["gs"], "gs", rels)
    _s, sent = push_mirror(studio["bucket"], studio["layout"], first)
    indexed = [e for e in sent]  # what the uploader records in the team index afterwards
    again, sent2 = push_mirror(studio["bucket"], studio["layout"], first, skip=index_skip(indexed))
    assert again.files == 0 and sent2 == []
    os.utime(studio["gs"] / rels[0], ns=(5, 5))  # touched, same content: still skipped
    (studio["gs"] / rels[1]).write_bytes(payload(77))  # changed: sent again
    third, sent3 = push_mirror(studio["bucket"], studio["layout"], entries_for(studio["gs"], "gs", rels),
                               skip=index_skip(indexed))
    assert [e.path for e in sent3] == [rels[1]] and third.bytes == len(payload(77))
    assert (studio["mount"] / rels[1]).read_bytes() == payload(77)


def test_node_check_lists_per_folder_and_refuses_missing_or_stale(studio):
    rels = [f"{SHOT}/scene.ma", f"{SHOT}/tex/wall.tx", f"{SHOT}/tex/wall_copy.tx"]
    files = entries_for(studio["gs"], "gs", rels)
    push_mirror(studio["bucket"], studio["layout"], files)
    m = Manifest(job_id="shotA", roots={"gs": str(studio["gs"])}, files=[e for e, _ in files])
    write_inputs(studio["bucket"], m)
    studio["bucket"].calls.clear()
    rep = materialise_mirror(studio["bucket"], studio["layout"], "shotA")
    assert rep.files == 3 and rep.blobs_fetched == 0 and rep.rules == [(str(studio["gs"]), str(studio["mount"]))]
    assert sum(n for (op, _k), n in studio["bucket"].calls.items() if op == "list") == 2  # two folders, not 3 files
    (studio["mount"] / rels[1]).write_bytes(b"short")  # a teammate's newer version replaced it
    (studio["mount"] / rels[2]).unlink()
    assert check_mirror(studio["bucket"], studio["layout"], m) == [
        f"{SHOT}/tex/wall.tx: 5 bytes instead of 3000", f"{SHOT}/tex/wall_copy.tx: missing"]
    with pytest.raises(StoreError, match=r"job shotA: mirror .*wall.tx: 5 bytes instead of 3000 \(and 1 more\)"):
        materialise_mirror(studio["bucket"], studio["layout"], "shotA")


def test_layout_from_config_and_bad_settings(tmp_path):
    cfg = load_config(overrides={"store.mirror.mount": "/gs", "store.mirror.prefixes.gs": ""}, env={})
    layout = MirrorLayout.from_config(cfg)
    assert layout.key("gs", "work/a.exr") == "work/a.exr" and layout.key("lib", "x.hdr") == "lib/x.hdr"
    with pytest.raises(ConfigError, match="store.mirror.prefixes.gs"):
        MirrorLayout.from_config(load_config(overrides={"store.mirror.prefixes.gs": "../up"}, env={}))
    with pytest.raises(ConfigError, match="store.mirror.mount is not set"):
        MirrorLayout().rules({"gs": "/gs"})
    with pytest.raises(StoreError, match="refusing"):
        layout.key("gs", "../etc/passwd")
    with pytest.raises(StoreError, match=r"gs/jobs/a.ma: its mirror key jobs/a.ma would collide .* prefix"):
        layout.key("gs", "jobs/a.ma")
    assert MirrorLayout(prefixes={"gs": "studio"}).key("gs", "jobs/a.ma") == "studio/jobs/a.ma"


def test_materialise_job_in_mirror_layout_downloads_nothing(studio, tmp_path):
    from cloudsubmit.store.layouts import materialise_job

    files = entries_for(studio["gs"], "gs", [f"{SHOT}/scene.ma"])
    push_mirror(studio["bucket"], studio["layout"], files)
    write_inputs(studio["bucket"], Manifest(job_id="shotA", roots={"gs": str(studio["gs"])}, files=[files[0][0]]))
    cfg = load_config(overrides={"store.layout": "mirror", "store.mirror.mount": str(studio["mount"]),
                                 "store.mirror.prefixes.gs": ""}, env={})
    rep = materialise_job(studio["bucket"], "shotA", str(tmp_path / "session"), cfg)
    assert rep.files == 1 and studio["bucket"].gets() == 0 and not (tmp_path / "session").exists()
    assert map_path(files[0][1], rep.rules) == str(studio["mount"] / SHOT / "scene.ma")


def test_mirror_over_s3(studio, s3_bucket):
    from support.storetools import counting_s3

    bucket = counting_s3(f"s3://{s3_bucket}")
    rels = [f"{SHOT}/scene.ma", f"{SHOT}/render/layout_Arnold.0001.exr", f"{SHOT}/tex/wall.tx"]
    files = entries_for(studio["gs"], "gs", rels)
    layout = MirrorLayout(mount="/gs", prefixes={"gs": ""})
    push_mirror(bucket, layout, files)
    assert sorted(k for k, _s in bucket.list("work/")) == sorted(rels)  # key = path under /gs
    m = Manifest(job_id="shotA", roots={"gs": "/gs"}, files=[e for e, _ in files])
    write_inputs(bucket, m)
    rep = materialise_mirror(bucket, layout, "shotA")
    assert rep.rules == [] and rep.files == 3  # /gs on premises is /gs on the node


def test_upload_mirror_through_resolve_and_the_team_index(tmp_path, studio):
    """Two artists: the second one's unchanged files are skipped by the index, a changed file is
    sent again, and what is on the mount is what each index entry says."""
    from cloudsubmit.store import open_store
    from cloudsubmit.store.layouts import resolve_inputs, send_inputs

    cfg = load_config(overrides={
        "paths.roots.gs": str(studio["gs"]), "store.layout": "mirror",
        "store.mirror.mount": str(studio["mount"]), "store.mirror.prefixes.gs": "",
        "store.hash_cache": str(tmp_path / "hc" / "hashes.sqlite")}, env={})
    paths = [str(studio["gs"] / SHOT / rel) for rel in ("scene.ma", "tex/wall.tx", "tex/wall_copy.tx")]
    store = open_store("file://" + studio["mount"].as_posix(), cfg)
    rep = send_inputs(resolve_inputs(paths, store, cfg), store)
    assert (rep.uploaded_files, rep.skipped_files) == (3, 0)  # same bytes at two paths: two keys in a mirror
    store.close()
    (studio["gs"] / SHOT / "tex/wall.tx").write_bytes(payload(88))
    store = open_store("file://" + studio["mount"].as_posix(), cfg)  # a teammate, later
    rep = send_inputs(resolve_inputs(paths, store, cfg), store)
    assert (rep.uploaded_files, rep.skipped_files) == (1, 2)
    entries = store.index.refresh().entries()
    for e in entries:
        key = studio["mount"] / e.path
        if hash_file(str(key)) == e.hash:
            continue
        assert any(o.path == e.path and o.hash == hash_file(str(key)) for o in entries)  # superseded version
    assert (studio["mount"] / SHOT / "tex/wall.tx").read_bytes() == payload(88)
    store.close()


def test_a_revert_to_v1_is_sent_again_and_a_node_refuses_same_size_other_bytes(tmp_path, studio):
    """v1, then v2 (same size), then v1 restored: the key holds v2, so the last upload must send
    v1 again; and a job whose key holds other bytes of the same size fails on the node instead of
    rendering them (the node hashes what it will read)."""
    from cloudsubmit.store import open_store
    from cloudsubmit.store.layouts import resolve_inputs, send_inputs

    cfg = load_config(overrides={
        "paths.roots.gs": str(studio["gs"]), "store.layout": "mirror",
        "store.mirror.mount": str(studio["mount"]), "store.mirror.prefixes.gs": "",
        "store.hash_cache": str(tmp_path / "hc" / "hashes.sqlite")}, env={})
    tex = studio["gs"] / SHOT / "tex/wall.tx"
    v1, v2 = payload(3), payload(4)[:len(payload(3))]
    assert len(v1) == len(v2) and v1 != v2
    for content, mtime in ((v1, 10**18), (v2, 2 * 10**18), (v1, 10**18)):  # the restore keeps v1's mtime
        tex.write_bytes(content)
        os.utime(tex, ns=(mtime, mtime))
        store = open_store("file://" + studio["mount"].as_posix(), cfg)
        send_inputs(resolve_inputs([str(tex)], store, cfg), store)
        assert (studio["mount"] / SHOT / "tex/wall.tx").read_bytes() == content
        store.index.compact()  # a snapshot keeps the order of writes
        store.close()
    m = Manifest(job_id="j1", roots={"gs": str(studio["gs"])},
                 files=[ManifestEntry("gs", f"{SHOT}/tex/wall.tx", hash_file(str(tex)), len(v1), 10**18)])
    write_inputs(studio["bucket"], m)
    assert materialise_mirror(studio["bucket"], studio["layout"], "j1").files == 1
    (studio["mount"] / SHOT / "tex/wall.tx").write_bytes(v2)  # a teammate's v2 lands after the submit
    with pytest.raises(StoreError, match="wall.tx: holds other bytes than the job's"):
        materialise_mirror(studio["bucket"], studio["layout"], "j1")
