"""The store commands from a shell: JSON shapes, config/env precedence, and bad input answered
in one line with the right exit code and nothing written to the index."""
from __future__ import annotations

import json
import os
import threading
import time

import pytest

from cloudsubmit.store.resolve import FileChanged, FileState, hash_checked
from support.store_fixtures import cli_env, make_files, open_as, store_url  # noqa: F401


def manifest(tmp, paths, name="m.json"):
    m = tmp / name
    m.write_text(json.dumps({"files": [str(p) for p in paths]}))
    return str(m)


def one_line_error(proc, code):
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cloudsubmit: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_resolve_then_upload_json(cli, store_url, tmp_path):
    paths = make_files(tmp_path / "p", {"a.exr": 4000, "b.exr": 5000})
    env = cli_env(store_url, tmp_path, "a")
    out = json.loads(cli("resolve", "--manifest", manifest(tmp_path, paths), "--json", env=env).stdout)
    assert (out["to_upload_files"], out["to_upload_bytes"], out["skipped_files"], out["uploaded_files"]) == (2, 9000, 0, 0)
    up = cli("upload", "--manifest", manifest(tmp_path, paths), "--json", env=env)
    assert up.returncode == 0, up.stderr
    out = json.loads(up.stdout)
    assert (out["uploaded_files"], out["uploaded_bytes"], out["missing"]) == (2, 9000, [])
    # the upload's own plan, not the state after it: 2 files/9000 bytes were to upload, none skipped
    assert (out["to_upload_files"], out["to_upload_bytes"], out["skipped_files"], out["skipped_bytes"]) == (2, 9000, 0, 0)
    again = json.loads(cli("upload", "--manifest", manifest(tmp_path, paths), "--json", env=env).stdout)
    assert (again["uploaded_bytes"], again["skipped_files"], again["to_upload_files"]) == (0, 2, 0)


def test_resolve_json_entries_are_what_json_dumps_writes_of_each_entry(cli, store_url, tmp_path, capsys):
    """The entries are encoded from columns, not as a dict each: the bytes must still be exactly
    what ``json.dumps`` of each entry's dict gives, for names JSON escapes, a missing file and one
    that is not a regular file, in batches (more entries than one batch)."""
    from cloudsubmit.commands.output import write_json_texts

    odd = {'quo"te \\ \u00fc \u5f71.exr': 10, "tab\tname.exr": 20, "plain.exr": 30}
    paths = make_files(tmp_path / "p", odd) + make_files(tmp_path / "many", {f"f{i}.tx": 5 for i in range(1203)})
    (tmp_path / "p" / "dir.exr").mkdir()
    paths += [str(tmp_path / "p" / "gone.exr"), str(tmp_path / "p" / "dir.exr")]
    env = cli_env(store_url, tmp_path, "a")
    m = manifest(tmp_path, paths)
    assert cli("upload", "--manifest", m, "--allow-missing", env=env).returncode in (0, 2)
    got = cli("resolve", "--manifest", m, "--json", env=env)
    assert got.returncode == 1, got.stderr  # missing/unreadable files: exit 1, the document still whole
    doc = json.loads(got.stdout)
    assert {e["state"] for e in doc["entries"]} >= {"missing", "refused"} and len(doc["entries"]) == len(paths)
    entries = doc.pop("entries")
    capsys.readouterr()
    write_json_texts(doc, "entries", [[json.dumps(e, ensure_ascii=False) for e in entries]])  # one batch
    assert got.stdout == capsys.readouterr().out


def test_scan_json_shape_and_relative_paths(cli, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    make_files(tmp_path / "shot", {"scene.ma": 300, "tex/a.exr": 700})
    scan = {"scene": "shot/scene.ma", "dependencies": [{"path": "shot/tex/a.exr", "exists": True}]}
    (tmp_path / "scan.json").write_text(json.dumps(scan))
    env = cli_env(store.as_uri(), tmp_path, "a")
    out = json.loads(cli("upload", "--manifest", str(tmp_path / "scan.json"), "--json", env=env).stdout)
    assert (out["uploaded_files"], out["uploaded_bytes"]) == (2, 1000)


def test_store_url_precedence_flag_env_config(cli, tmp_path):
    for name in ("flag", "env", "cfg"):
        (tmp_path / name).mkdir()
    paths = make_files(tmp_path / "p", {"a": 10})
    studio = tmp_path / "studio.yaml"
    studio.write_text(f"store:\n  url: {(tmp_path / 'cfg').as_uri()}\n")
    env = {"XDG_CACHE_HOME": str(tmp_path / "c"), "CLOUDSUBMIT_CONFIG": str(studio)}
    m = manifest(tmp_path, paths)
    assert json.loads(cli("upload", "--manifest", m, "--json", env=env).stdout)["store"].endswith("/cfg")
    env["CLOUDSUBMIT_STORE"] = (tmp_path / "env").as_uri()
    assert json.loads(cli("upload", "--manifest", m, "--json", env=env).stdout)["store"].endswith("/env")
    out = cli("upload", "--manifest", m, "--json", "--store", str(tmp_path / "flag"), env=env)
    assert json.loads(out.stdout)["store"].endswith("/flag")


def test_missing_files_refuse_the_whole_upload_unless_skipped(cli, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    paths = make_files(tmp_path / "p", {"a": 100}) + [str(tmp_path / "p" / "gone.exr")]
    env = cli_env(store.as_uri(), tmp_path, "a")
    line = one_line_error(cli("upload", "--manifest", manifest(tmp_path, paths), env=env), 2)
    assert "gone.exr" in line and "--allow-missing" in line
    assert not (store / "index").exists() and not (store / "cas").exists()
    ok = cli("upload", "--manifest", manifest(tmp_path, paths), "--skip-missing", "--json", env=env)
    assert json.loads(ok.stdout)["uploaded_files"] == 1 and json.loads(ok.stdout)["missing"] == [paths[1]]


def test_a_folder_where_a_file_should_be_is_refused(cli, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (tmp_path / "p" / "tex.exr").mkdir(parents=True)
    line = one_line_error(cli("upload", "--manifest", manifest(tmp_path, [tmp_path / "p" / "tex.exr"]),
                              env=cli_env(store.as_uri(), tmp_path, "a")), 2)
    assert "tex.exr: not a regular file" in line
    assert not (store / "index").exists()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(cli, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    paths = make_files(tmp_path / "p", {"locked.exr": 100, "ok.exr": 100})
    os.chmod(paths[0], 0)
    line = one_line_error(cli("upload", "--manifest", manifest(tmp_path, paths), env=cli_env(store.as_uri(), tmp_path, "a")), 2)
    assert "locked.exr" in line and "ermission" in line
    assert not (store / "index").exists()


def test_a_file_changing_while_hashed_is_refused(tmp_path):
    f = tmp_path / "sim.bc"
    f.write_bytes(b"\0" * 3_000_000)
    st = os.stat(f)
    fs = FileState(str(f), size=st.st_size, mtime_ns=st.st_mtime_ns)

    def touch_once(n, state={"done": False}):
        if not state["done"]:
            state["done"] = True
            with open(f, "r+b") as out:
                out.write(b"frame 2")

    with pytest.raises(FileChanged):
        hash_checked(fs, touch_once)


def test_a_file_rewritten_during_upload_via_cli(cli, tmp_path):
    """A simulation cache still being written: the command refuses it in one line."""
    store = tmp_path / "store"
    store.mkdir()
    big = tmp_path / "p" / "cache.bgeo"
    big.parent.mkdir()
    big.write_bytes(os.urandom(64 * 1024 * 1024))
    stop = threading.Event()

    def writer():
        with open(big, "r+b") as out:
            while not stop.is_set():
                os.pwrite(out.fileno(), os.urandom(16), 0)
                time.sleep(0.001)

    t = threading.Thread(target=writer)
    t.start()
    try:
        proc = cli("upload", "--manifest", manifest(tmp_path, [big]), env=cli_env(store.as_uri(), tmp_path, "a"))
    finally:
        stop.set()
        t.join()
    line = one_line_error(proc, 2 if "nothing uploaded" in proc.stderr else 1)
    assert "cache.bgeo" in line and "changed" in line
    assert not (store / "index").exists() and not list((store / "cas").glob("[0-9a-f]*") if (store / "cas").exists() else [])


def test_store_that_does_not_exist(cli, tmp_path):
    paths = make_files(tmp_path / "p", {"a": 10})
    line = one_line_error(cli("upload", "--manifest", manifest(tmp_path, paths), "--store", str(tmp_path / "nope"),
                              env={"XDG_CACHE_HOME": str(tmp_path / "c")}), 2)
    assert "nope" in line and "does not exist" in line
    assert not (tmp_path / "nope").exists()
    line = one_line_error(cli("resolve", "--manifest", manifest(tmp_path, paths), "--store", paths[0],
                              env={"XDG_CACHE_HOME": str(tmp_path / "c")}), 2)
    assert "is a file, not a directory" in line
    line = one_line_error(cli("index", "verify", "--store", "ftp://host/x"), 2)
    assert "unknown scheme" in line


def test_bucket_that_does_not_exist(cli, s3_server, tmp_path):
    paths = make_files(tmp_path / "p", {"a": 10})
    env = dict(s3_server.env, XDG_CACHE_HOME=str(tmp_path / "c"))
    line = one_line_error(cli("upload", "--manifest", manifest(tmp_path, paths), "--store", "s3://no-such-bucket-here/x", env=env), 2)
    assert line.endswith("bucket no-such-bucket-here does not exist")


def test_bucket_name_s3_cannot_have(cli, s3_server, tmp_path):
    paths = make_files(tmp_path / "p", {"a": 10})
    env = dict(s3_server.env, XDG_CACHE_HOME=str(tmp_path / "c"))
    line = one_line_error(cli("resolve", "--manifest", manifest(tmp_path, paths), "--store", "s3://Bad_Bucket!/x", env=env), 2)
    assert "Invalid bucket name" in line and "Bad_Bucket!" in line


def test_endpoint_refusing_connections(cli, s3_server, tmp_path):
    from support.s3server import _free_port

    paths = make_files(tmp_path / "p", {"a": 10})
    env = dict(s3_server.env, XDG_CACHE_HOME=str(tmp_path / "c"), AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{_free_port()}")
    proc = cli("--set", "store.s3.max_attempts=1", "upload", "--manifest", manifest(tmp_path, paths), "--store", "s3://bkt/x", env=env)
    line = one_line_error(proc, 1)
    assert "Could not connect" in line and "127.0.0.1" in line


def test_no_credentials_at_all(cli, s3_bucket, tmp_path):
    paths = make_files(tmp_path / "p", {"a": 10})
    env = {"XDG_CACHE_HOME": str(tmp_path / "c"), "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_CONFIG_FILE": str(tmp_path / "none")}
    line = one_line_error(cli("upload", "--manifest", manifest(tmp_path, paths), "--store", f"s3://{s3_bucket}", env=env), 2)
    assert "no AWS credentials" in line


def test_unknown_profile(cli, s3_bucket, tmp_path):
    paths = make_files(tmp_path / "p", {"a": 10})
    env = {"XDG_CACHE_HOME": str(tmp_path / "c"), "AWS_CONFIG_FILE": str(tmp_path / "none")}
    proc = cli("--set", "store.s3.profile=nobody", "upload", "--manifest", manifest(tmp_path, paths), "--store", f"s3://{s3_bucket}", env=env)
    assert "profile 'nobody' not found" in one_line_error(proc, 2)


def test_bad_manifests(cli, tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "shape.json").write_text(json.dumps({"paths": []}))
    (tmp_path / "store").mkdir()
    env = cli_env((tmp_path / "store").as_uri(), tmp_path, "a")
    assert "not JSON" in one_line_error(cli("upload", "--manifest", str(tmp_path / "bad.json"), env=env), 2)
    assert "expected" in one_line_error(cli("upload", "--manifest", str(tmp_path / "shape.json"), env=env), 2)
    assert "cannot read" in one_line_error(cli("upload", "--manifest", str(tmp_path / "none.json"), env=env), 2)
    assert "one of them" in one_line_error(cli("upload", env=env), 2)


def test_index_verify_and_compact_commands(cli, store_url, tmp_path):
    env = cli_env(store_url, tmp_path, "a")
    for i in range(3):
        paths = make_files(tmp_path / f"p{i}", {"a": 100 + i})
        assert cli("upload", "--manifest", manifest(tmp_path, paths, f"m{i}.json"), env=env).returncode == 0
    out = json.loads(cli("index", "compact", "--json", env=env).stdout)
    assert (out["shards_before"], out["shards_folded"], out["entries"]) == (3, 3, 3)
    ok = cli("index", "verify", "--deep", "--json", env=env)
    assert ok.returncode == 0 and json.loads(ok.stdout)["blobs"] == 3
    store = open_as(store_url, tmp_path, "x")
    victim = store.index.entries()[0].hash
    store.backend.delete("cas/" + victim)
    bad = cli("index", "verify", env=env)
    assert bad.returncode == 1 and f"missing: cas/{victim}" in bad.stdout
    # the index still lists it, so a plain upload trusts the index; --recheck lists the store and re-sends it
    size = next(e.size for e in store.index.entries() if e.hash == victim)
    m = manifest(tmp_path, [tmp_path / f"p{size - 100}" / "a"], "again.json")  # file i has 100 + i bytes
    assert json.loads(cli("upload", "--manifest", m, "--json", env=env).stdout)["uploaded_files"] == 0
    fixed = json.loads(cli("upload", "--manifest", m, "--recheck", "--json", env=env).stdout)
    assert (fixed["to_upload_files"], fixed["uploaded_files"], fixed["uploaded_bytes"]) == (1, 1, size)
    assert cli("index", "verify", "--deep", env=env).returncode == 0


def test_upload_a_scene_then_resolve_it_unchanged(cli, store_url, tmp_path):
    import shutil
    from pathlib import Path

    shot = tmp_path / "demo"
    shutil.copytree(Path(__file__).resolve().parent.parent / "cloudsubmit" / "examples" / "demo_shot", shot)
    scene = str(shot / "scenes" / "shot010_lighting.ma")
    env = cli_env(store_url, tmp_path, "a")
    one = json.loads(cli("resolve", scene, "--frames", "1", "--json", env=env).stdout)
    every = json.loads(cli("resolve", scene, "--json", env=env).stdout)
    assert 0 < one["to_upload_files"] < every["to_upload_files"]  # fewer plate frames
    assert scene in [e["path"] for e in every["entries"]]
    up = cli("upload", scene, "--json", env=env)
    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout)["uploaded_bytes"] == every["to_upload_bytes"] > 0
    again = json.loads(cli("resolve", scene, "--json", env=cli_env(store_url, tmp_path, "teammate")).stdout)
    assert again["to_upload_files"] == 0 and again["to_upload_bytes"] == 0 and again["hashed_files"] == 0
    bad = cli("resolve", str(shot / "nope.ma"), env=env)
    assert bad.returncode == 2 and "nope.ma" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


AUTH_SERVER = """
import os, sys, time
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"  # moto checks every request's access key
from moto.server import ThreadedMotoServer
ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False).start()
print("ready", flush=True)
sys.stdin.read()
"""


def test_wrong_credentials(cli, tmp_path):
    """A moto server that checks access keys, in its own process: a key it does not know is
    refused, and cloudsubmit says so in one line."""
    import subprocess
    import sys

    from support.s3server import _free_port

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", AUTH_SERVER, str(port)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        paths = make_files(tmp_path / "p", {"a": 10})
        env = {"AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "AKIANOTAREALKEY",
               "AWS_SECRET_ACCESS_KEY": "wrong", "AWS_DEFAULT_REGION": "us-east-1", "XDG_CACHE_HOME": str(tmp_path / "c")}
        line = one_line_error(cli("upload", "--manifest", manifest(tmp_path, paths), "--store", "s3://studio-bucket/x", env=env), 2)
        assert "access denied (InvalidAccessKeyId)" in line and "wrong" not in line
    finally:
        server.stdin.close()
        server.wait(10)
