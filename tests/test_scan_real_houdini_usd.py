"""The real-scene corpus (tests/fixtures/real/houdini_usd): every scene scanned, compared with
its *.expected.yaml, which was read by hand from the files. Each scene is copied to an empty
folder first, so the scan can only find what the corpus holds."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict

import pytest
import yaml

from cloudsubmit.scan import scan_scene
from cloudsubmit.scan.cpio import read_archive
from support.hipwriter import odc_record

CORPUS = Path(__file__).resolve().parent / "fixtures" / "real" / "houdini_usd"
EXPECTED = sorted(CORPUS.glob("*/*.expected.yaml"))
CASES = [(e, packing) for e in EXPECTED
         for packing in (("text", "cpio") if (e.parent / "Contents.mime").is_file() else ("",))]


def prepare(expected: Path, tmp_path: Path, packing: str) -> Path:
    """The scene in a fresh folder. A Contents.mime (Houdini's text layout) becomes the scene's
    .hip: as it is (``text``, how a .hip saved as text looks) or its records packed into cpio."""
    folder = tmp_path / expected.parent.name
    shutil.copytree(expected.parent, folder)
    scene = yaml.safe_load(expected.read_text(encoding="utf-8"))["scene"]
    mime = folder / "Contents.mime"
    if scene.endswith(".hip") and mime.is_file():
        if packing == "text":
            mime.rename(folder / scene)
        else:
            arc = read_archive(mime.read_bytes(), str(mime))
            data = b"".join(odc_record(e.name, e.body) for e in arc.entries) + odc_record("TRAILER!!!", b"")
            (folder / scene).write_bytes(data)
            mime.unlink()
    for extra in folder.glob("*.expected.yaml"):
        extra.unlink()
    return folder / scene


def relative(path: str, folder: Path) -> str:
    root = str(folder).replace("\\", "/") + "/"
    return path[len(root):] if path.startswith(root) else path


@pytest.mark.parametrize("expected,packing", CASES, ids=[f"{e.parent.name}{'-' + k if k else ''}" for e, k in CASES])
def test_corpus_scene_scans_as_read_by_hand(expected, packing, tmp_path, request):
    want = yaml.safe_load(expected.read_text(encoding="utf-8"))
    if want["scene"].endswith((".usd", ".usda", ".usdc", ".usdz")):
        request.getfixturevalue("usd_core")
    scene = prepare(expected, tmp_path, packing)
    result = scan_scene(str(scene), frames=[1], env={})
    got: Dict[str, bool] = {relative(d.path, scene.parent): d.exists for d in result.dependencies}
    assert got == want["dependencies"]
    assert sorted(relative(o.path, scene.parent) for o in result.outputs) == sorted(want["outputs"] or [])
    for needle in want["warnings"] or []:
        assert sum(needle in w for w in result.warnings) == 1, (needle, result.warnings)
    assert len(result.warnings) == len(want["warnings"] or []), result.warnings


def test_corpus_has_scenes_and_every_file_is_listed_in_the_readme():
    assert len(EXPECTED) >= 4
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    for path in CORPUS.rglob("*"):
        if path.is_file() and path.suffix not in (".md", ".yaml"):
            assert f"`{path.relative_to(CORPUS).as_posix()}`" in readme, path
