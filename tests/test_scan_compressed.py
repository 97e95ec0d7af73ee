"""Compressed Arnold procedurals (``.ass.gz``): picked by their double extension, read as scenes,
and followed from a Maya stand-in like a plain ``.ass``."""
from __future__ import annotations

import gzip

import pytest
from fixtures.maya_files import node, touch, write_ma

from cloudsubmit.errors import ScanError
from cloudsubmit.scan import READERS, scan_scene, scene_extension

PROC = '''### exported: Sat Nov 28 10:00:00 2026
image
{
 name bark_tex
 filename "tex/bark.exr"
}
'''


@pytest.mark.parametrize("path,ext", [
    ("/show/procs/trees.ass.gz", ".ass.gz"), ("C:\\show\\TREES.ASS.GZ", ".ass.gz"), ("shot.ma", ".ma"),
    ("/a.b/archive.gz", ".gz"), ("noext", "")])
def test_scene_extension(path, ext):
    assert scene_extension(path) == ext


def test_stand_in_follows_a_gzipped_procedural(tmp_path):
    proc = tmp_path / "procs" / "trees.ass.gz"
    proc.parent.mkdir()
    proc.write_bytes(gzip.compress(PROC.encode("utf-8")))
    touch(tmp_path / "procs" / "tex" / "bark.exr")
    scene = write_ma(tmp_path / "forest.ma", [
        node("aiStandIn", "treesShape", 'setAttr ".dso" -type "string" "procs/trees.ass.gz";')])
    found = {d.path: d for d in scan_scene(str(scene), frames=[1], env={}).dependencies}
    assert found[proc.as_posix()].kind == "standin"
    bark = found[(tmp_path / "procs" / "tex" / "bark.exr").as_posix()]
    assert bark.exists and bark.source == "bark_tex.filename"


def test_a_gz_that_is_not_a_known_scene_is_refused_by_name(tmp_path):
    archive = tmp_path / "notes.txt.gz"
    archive.write_bytes(gzip.compress(b"hello"))
    assert ".gz" not in READERS
    with pytest.raises(ScanError, match=r"notes\.txt\.gz: unknown scene format '\.txt\.gz'"):
        scan_scene(str(archive), env={})


def test_submitting_a_gzipped_procedural_scans_it(tmp_path, cli):
    """submit took the extension as ``.gz`` and sent a ``.ass.gz`` alone, as an unknown script;
    the readers' table decides there too, so its textures go with it."""
    import json

    proc = tmp_path / "trees.ass.gz"
    proc.write_bytes(gzip.compress(PROC.encode("utf-8")))
    touch(tmp_path / "tex" / "bark.exr")
    res = cli("submit", str(proc), "--frames", "1", "--place", "render=local", "--scheduler", "local",
              "--bundle-dir", str(tmp_path / "jobs"), "--dry-run", "--json")
    assert res.returncode == 0, res.stderr
    listed = json.loads((__import__("pathlib").Path(json.loads(res.stdout)["bundle"]) / "input_paths.json").read_text())
    assert (tmp_path / "tex" / "bark.exr").as_posix() in listed["files"]
