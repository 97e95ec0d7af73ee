"""Outputs: up from the render node, back into the artist's output folder and never outside it."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cloudsubmit.errors import Cancelled, StoreError
from cloudsubmit.store.hashing import hash_bytes
from cloudsubmit.store.local import LocalBackend
from cloudsubmit.store.manifest import Manifest, output_roots, write_inputs
from cloudsubmit.store.pathmap import session_rules
from cloudsubmit.store.outputs import download_outputs, snapshot, upload_outputs
from support.storetools import CountingBackend, SlowBackend, payload, tree_bytes, write_tree


def render(folder: Path, frames, tag="beauty", size=5000):
    """What a renderer does: write finished frames into the output folder."""
    return write_tree(folder, {f"{tag}.{f:04d}.exr": payload(f * 7 + len(tag), size) for f in frames})


@pytest.fixture
def job(tmp_path):
    """A job whose scene declares /…/gs/shot/render; on the node it is mapped into the session."""
    declared = tmp_path / "artist" / "gs" / "shot" / "render"
    rules = session_rules({"gs": str(tmp_path / "artist" / "gs")}, str(tmp_path / "node" / "session"))
    node_dir = tmp_path / "node" / "session" / "gs" / "shot" / "render"
    return {"declared": str(declared), "rules": rules, "node_dir": node_dir}


def declare(store, job, job_id="shotA"):
    """What the submit does: the job manifest names the output folders a download may write to."""
    roots = {"gs": str(Path(job["declared"]).parent.parent)}
    write_inputs(store, Manifest(job_id=job_id, roots=roots, outputs=output_roots([job["declared"]])))


def test_outputs_round_trip_byte_identical(tmp_path, job):
    store = CountingBackend(str(tmp_path / "store"))
    declare(store, job)
    node_dir = job["node_dir"]
    write_tree(node_dir, {"old.exr": b"from before the render"})
    before = snapshot([job["declared"]], job["rules"])
    render(node_dir, range(1, 6))
    write_tree(node_dir, {"aovs/拡散.0001.exr": payload(99)})  # Japanese names survive the round trip
    up = upload_outputs(store, "shotA", "render-1-5", rules=job["rules"], before=before)  # folders from the job
    assert (up.files, up.uploaded_files, up.skipped_files) == (6, 6, 1)
    assert up.uploaded_bytes == 5 * 5000 + 3000
    render(tmp_path / "node2", range(6, 8))  # a second node renders the next chunk
    rules2 = session_rules({"gs": str(tmp_path / "artist" / "gs")}, str(tmp_path / "node2s"))
    render(tmp_path / "node2s" / "gs" / "shot" / "render", range(6, 8))
    upload_outputs(store, "shotA", "render-6-7", [job["declared"]], rules=rules2)

    down = download_outputs(store, "shotA")  # into the declared folder, as the download stage does
    got = tree_bytes(Path(job["declared"]))
    expected = {k: v for k, v in tree_bytes(node_dir).items() if k != "old.exr"}
    expected.update(tree_bytes(tmp_path / "node2s" / "gs" / "shot" / "render"))
    assert got == expected and len(got) == 8
    assert (down.manifests, down.files, down.downloaded_files, down.skipped_files) == (2, 8, 8, 0)
    assert down.targets == [Path(job["declared"]).as_posix()]
    for rel in got:  # the frame's time comes back with it
        assert (Path(job["declared"]) / rel).stat().st_mtime_ns in {
            p.stat().st_mtime_ns for p in (node_dir / rel, tmp_path / "node2s/gs/shot/render" / rel) if p.exists()}


def test_second_download_skips_identical_files(tmp_path, job):
    store = CountingBackend(str(tmp_path / "store"))
    render(job["node_dir"], range(1, 4))
    upload_outputs(store, "shotA", "n1", [job["declared"]], rules=job["rules"])
    dest = tmp_path / "comp"
    assert download_outputs(store, "shotA", str(dest)).downloaded_files == 3
    gets = store.gets()
    again = download_outputs(store, "shotA", str(dest))
    assert (again.downloaded_files, again.skipped_files, store.gets()) == (0, 3, gets)
    os.utime(dest / "beauty.0001.exr", ns=(1, 1))  # same content, other time: hashed, still skipped
    (dest / "beauty.0002.exr").write_bytes(payload(12345, 5000))  # same size, other content
    third = download_outputs(store, "shotA", str(dest))
    assert (third.downloaded_files, third.skipped_files) == (1, 2)
    assert (dest / "beauty.0002.exr").read_bytes() == (job["node_dir"] / "beauty.0002.exr").read_bytes()


def test_retried_node_reuploads_nothing(tmp_path, job):
    store = CountingBackend(str(tmp_path / "store"))
    render(job["node_dir"], range(1, 4))
    upload_outputs(store, "shotA", "n1", [job["declared"]], rules=job["rules"])
    again = upload_outputs(store, "shotA", "n1", [job["declared"]], rules=job["rules"])
    assert (again.uploaded_files, again.skipped_files, again.files) == (0, 3, 3)
    assert sum(n for (op, _k), n in store.calls.items() if op == "put_fileobj") == 3


def write_raw(store, node, path, job_id="shotA", root_path=None, data=b"x" * 10):
    digest = hash_bytes(data)
    store.put_bytes("cas/" + digest, data)
    doc = {"version": 1, "job_id": job_id, "node": node, "roots": {"render": root_path or "/nowhere"},
           "files": [{"root": "render", "path": path, "hash": digest, "size": len(data), "mtime_ns": 0}]}
    store.put_bytes(f"jobs/{job_id}/outputs/{node}.json", json.dumps(doc).encode())


@pytest.mark.parametrize("path", ["../escape.exr", "a/../../escape.exr", "/etc/cron.d/x", "C:/Users/x.exr", "a\\..\\..\\x"])
def test_escaping_entries_are_refused_before_anything_is_written(tmp_path, path):
    store = LocalBackend(str(tmp_path / "store"))
    write_raw(store, "good", "ok.exr", data=b"fine")
    write_raw(store, "evil", path)
    dest = tmp_path / "out" / "render"
    with pytest.raises(StoreError) as info:
        download_outputs(store, "shotA", str(dest))
    assert "jobs/shotA/outputs/evil.json" in info.value.message and "refusing" in info.value.message
    assert "\n" not in info.value.message and info.value.exit_code == 2
    assert not any(p.is_file() for p in tmp_path.rglob("*") if "store" not in p.parts)


def test_symlink_escaping_the_folder_is_refused(tmp_path):
    store = LocalBackend(str(tmp_path / "store"))
    dest = tmp_path / "out"
    outside = tmp_path / "outside"
    outside.mkdir()
    dest.mkdir()
    (dest / "frames").symlink_to(outside)
    (dest / "inside").symlink_to(dest)  # a link that stays inside is fine
    write_raw(store, "n1", "inside/a.exr", data=b"aaa")
    write_raw(store, "n2", "frames/evil.exr")
    with pytest.raises(StoreError, match="n2.json: entry render/frames/evil.exr: refusing"):
        download_outputs(store, "shotA", str(dest))
    assert list(outside.iterdir()) == [] and not (dest / "a.exr").exists()


def test_unknown_job_and_foreign_manifest(tmp_path):
    store = LocalBackend(str(tmp_path / "store"))
    with pytest.raises(StoreError, match="job shotZ: no outputs"):
        download_outputs(store, "shotZ", str(tmp_path / "d"))
    write_raw(store, "n1", "a.exr", job_id="other")
    (tmp_path / "store/jobs/other").rename(tmp_path / "store/jobs/shotA")
    with pytest.raises(StoreError, match="belongs to job 'other'"):
        download_outputs(store, "shotA", str(tmp_path / "d"))


def test_cancel_leaves_no_partial_files(tmp_path, job):
    store = SlowBackend(str(tmp_path / "store"))
    render(job["node_dir"], range(1, 9), size=40000)
    upload_outputs(store, "shotA", "n1", [job["declared"]], rules=job["rules"])
    dest = tmp_path / "comp"
    calls = []

    def progress(rep):
        calls.append(rep.bytes_done)
        return len(calls) < 3

    with pytest.raises(Cancelled):
        download_outputs(store, "shotA", str(dest), threads=2, progress=progress)
    names = [p.name for p in dest.rglob("*") if p.is_file()] if dest.exists() else []
    assert not [n for n in names if n.startswith(".tmp-")]
    for n in names:  # whatever did arrive is whole
        assert (dest / n).read_bytes() == (job["node_dir"] / n).read_bytes()
    assert len(names) < 8


def test_output_root_names_are_stable_and_unique():
    roots = output_roots(["/gs/b/render", "/gs/a/render/", "Z:\\shot\\comp out"])
    assert roots == {"render": "/gs/a/render", "render-2": "/gs/b/render", "comp_out": "Z:/shot/comp out"}


def test_several_output_folders_under_dest(tmp_path):
    store = LocalBackend(str(tmp_path / "store"))
    beauty, masks = tmp_path / "gs/render", tmp_path / "gs/masks"
    render(beauty, [1])
    render(masks, [1], tag="mask")
    upload_outputs(store, "shotA", "n1", [str(beauty), str(masks)])
    down = download_outputs(store, "shotA", str(tmp_path / "dl"))
    assert tree_bytes(tmp_path / "dl") == {
        "render/beauty.0001.exr": (beauty / "beauty.0001.exr").read_bytes(),
        "masks/mask.0001.exr": (masks / "mask.0001.exr").read_bytes(),
    }
    assert down.targets == sorted([(tmp_path / "dl/masks").as_posix(), (tmp_path / "dl/render").as_posix()])


def test_download_command(cli, tmp_path, job):
    store = LocalBackend(str(tmp_path / "store"))
    render(job["node_dir"], range(1, 4))
    upload_outputs(store, "shotA", "n1", [job["declared"]], rules=job["rules"])
    url = "file://" + (tmp_path / "store").as_posix()
    dest = tmp_path / "comp"
    res = cli("download", "shotA", "--dest", str(dest), "--store", url, "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert (out["downloaded_files"], out["skipped_files"], out["targets"]) == (3, 0, [dest.as_posix()])
    assert tree_bytes(dest) == tree_bytes(job["node_dir"])
    res = cli("download", "shotA", "--dest", str(dest), env={"CLOUDSUBMIT_STORE": url})  # store from the env
    assert res.returncode == 0 and "0 files downloaded" in res.stdout and "3 already present" in res.stdout


def test_download_command_errors_are_one_line(cli, tmp_path):
    store = LocalBackend(str(tmp_path / "store"))
    url = "file://" + (tmp_path / "store").as_posix()
    res = cli("download", "nojob", "--store", url)
    assert res.returncode == 2 and res.stderr.strip() == (
        f"cloudsubmit: error: nojob: no such job (not submitted from here, and not in {url}; see `cloudsubmit jobs`)")
    declare(store, {"declared": str(tmp_path / "gs" / "shot" / "render")}, "early")
    res = cli("download", "early", "--store", url)  # submitted, nothing rendered yet
    assert res.returncode == 1 and res.stderr.strip() == f"cloudsubmit: error: job early: no outputs in {url} yet"
    write_raw(store, "evil", "../../etc/evil.exr")
    res = cli("download", "shotA", "--dest", str(tmp_path / "d"), "--store", url)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "jobs/shotA/outputs/evil.json" in res.stderr and "refusing" in res.stderr and not (tmp_path / "d").exists()
    res = cli("download", "shotA", "--store", "file://" + (tmp_path / "absent").as_posix())
    assert res.returncode == 2 and "Traceback" not in res.stderr
    res = cli("download", "bad/../id", "--store", url)
    assert res.returncode == 2 and "invalid job id" in res.stderr


def test_outputs_round_trip_over_s3(tmp_path, job, s3_bucket):
    from support.storetools import counting_s3

    store = counting_s3(f"s3://{s3_bucket}/team")
    before = snapshot([job["declared"]], job["rules"])
    render(job["node_dir"], range(1, 5), size=70000)
    up = upload_outputs(store, "shotA", "n1", [job["declared"]], rules=job["rules"], before=before)
    assert (up.uploaded_files, up.uploaded_bytes) == (4, 4 * 70000)
    again = upload_outputs(store, "shotA", "n1", [job["declared"]], rules=job["rules"])
    assert again.uploaded_files == 0 and again.skipped_files == 4  # a retried node sends nothing
    dest = tmp_path / "comp"
    down = download_outputs(store, "shotA", str(dest))
    assert down.downloaded_files == 4 and tree_bytes(dest) == tree_bytes(job["node_dir"])
    gets = store.gets()
    assert download_outputs(store, "shotA", str(dest)).skipped_files == 4 and store.gets() == gets


def test_node_manifests_cannot_redirect_the_download(tmp_path, job):
    store = LocalBackend(str(tmp_path / "store"))
    declare(store, job)
    elsewhere = tmp_path / "home" / ".ssh"
    write_raw(store, "evil", "authorized_keys", root_path=str(elsewhere))  # root "render", another folder
    with pytest.raises(StoreError, match="evil.json: output folder 'render' is .*/home/.ssh, but the job declared"):
        download_outputs(store, "shotA")
    assert not elsewhere.exists() and not Path(job["declared"]).exists()
    store.delete("jobs/shotA/outputs/evil.json")
    write_raw(store, "evil2", "x.exr", root_path=job["declared"])
    store.put_bytes("jobs/shotA/outputs/evil2.json", store.get_bytes("jobs/shotA/outputs/evil2.json").replace(b'"render"', b'"other"'))
    with pytest.raises(StoreError, match="output folder 'other' .* declared no such folder"):
        download_outputs(store, "shotA", str(tmp_path / "dl"))


def test_undeclared_or_foreign_destinations_need_dest(tmp_path, job):
    store = LocalBackend(str(tmp_path / "store"))
    write_raw(store, "n1", "a.exr", root_path=job["declared"])
    with pytest.raises(StoreError, match="no output folders declared by the submitter; give a destination"):
        download_outputs(store, "shotA")  # no job manifest: the node's word is not enough
    assert download_outputs(store, "shotA", str(tmp_path / "dl")).downloaded_files == 1
    store.delete("jobs/shotA/outputs/n1.json")
    write_inputs(store, Manifest(job_id="shotA", roots={"gs": "Z:/"}, outputs={"render": "Z:/shot/render"}))
    write_raw(store, "n1", "a.exr", root_path="Z:/shot/render")
    with pytest.raises(StoreError, match="output folder Z:/shot/render is not a path on this machine"):
        download_outputs(store, "shotA")


def test_stage_flow_submit_render_download(tmp_path):
    """The calls a DAG makes, in order: submit writes the job manifest (inputs + declared output
    folder), the render node materialises, renders into the mapped folder and uploads, the
    download stage brings the frames into the folder the artist declared."""
    from cloudsubmit.store.hashing import hash_file
    from cloudsubmit.store.manifest import inputs_manifest
    from cloudsubmit.store.materialise import materialise
    from cloudsubmit.store.pathmap import map_path

    gs = tmp_path / "gs"
    scene = write_tree(gs, {"shot/scene.ma": b"//Maya ASCII\n", "shot/tex/a.tx": payload(1)})
    store = LocalBackend(str(tmp_path / "store"))

    class Resolved:  # what resolve gives the submitter for each file
        def __init__(self, rel):
            p = scene / rel
            self.path, self.root, self.logical = p.as_posix(), "gs", rel
            self.hash, self.size, self.mtime_ns = hash_file(str(p)), p.stat().st_size, p.stat().st_mtime_ns
            store.put_file("cas/" + self.hash, str(p))

    declared = (gs / "shot" / "render").as_posix()
    write_inputs(store, inputs_manifest("shotA", [Resolved("shot/scene.ma"), Resolved("shot/tex/a.tx")],
                                        output_dirs=[declared]))
    rep = materialise(store, "shotA", str(tmp_path / "node" / "session"), cache_dir=str(tmp_path / "node" / "cache"))
    before = snapshot(rep.outputs.values(), rep.rules)
    out_on_node = Path(map_path(declared, rep.rules))
    assert out_on_node == tmp_path / "node/session/gs/shot/render"
    render(out_on_node, range(1, 3))
    upload_outputs(store, "shotA", "render-1-2", rules=rep.rules, before=before)
    down = download_outputs(store, "shotA")
    assert down.targets == [declared] and tree_bytes(Path(declared)) == tree_bytes(out_on_node)


def test_frame_still_being_written_is_refused_and_not_stored(tmp_path, job):
    class StillRendering(LocalBackend):
        """The renderer appends to the frame while it is being sent."""

        def put_fileobj(self, key, fileobj, *, size=None, on_bytes=None):
            with open(fileobj.path, "ab") as f:
                f.write(b"more scanlines")
            super().put_fileobj(key, fileobj, size=size, on_bytes=on_bytes)

    store = StillRendering(str(tmp_path / "store"))
    render(job["node_dir"], [1])
    with pytest.raises(StoreError, match=r"beauty.0001.exr: changed while being uploaded"):
        upload_outputs(store, "shotA", "n1", [job["declared"]], rules=job["rules"])
    assert list(store.list("cas/")) == []
    assert not store.exists("jobs/shotA/outputs/n1.json")


def test_frame_rewritten_in_place_while_sent_is_refused_by_hash(tmp_path, job):
    """Same size, same mtime, other bytes: only the hash of what is actually sent can tell."""

    class Rewriting(LocalBackend):
        def put_fileobj(self, key, fileobj, *, size=None, on_bytes=None):
            st = os.stat(fileobj.path)
            with open(fileobj.path, "r+b") as f:
                f.write(b"half-rendered")
            os.utime(fileobj.path, ns=(st.st_atime_ns, st.st_mtime_ns))
            super().put_fileobj(key, fileobj, size=size, on_bytes=on_bytes)

    store = Rewriting(str(tmp_path / "store"))
    render(job["node_dir"], [1, 2])
    with pytest.raises(StoreError, match=r"beauty.000[12].exr: changed while being uploaded") as err:
        upload_outputs(store, "shotA", "n1", [job["declared"]], rules=job["rules"], threads=1)
    assert "\n" not in err.value.message
    assert list(store.list("cas/")) == []
    assert not store.exists("jobs/shotA/outputs/n1.json")
