"""The real-scene corpus: scenes Maya saved (tests/fixtures/real/maya, ../shared/real-scenes),
scanned and compared with what each really references, written down by hand in its
``*.expected.yaml`` (see the README there)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from cloudsubmit.frames import range_spec
from cloudsubmit.scan import scan_scene

CORPUS = Path(__file__).resolve().parent / "fixtures" / "real" / "maya"
EXPECTATIONS = sorted(CORPUS.glob("*.expected.yaml"))


def _scene(expected: dict, request) -> Path:
    """The scene file: in this corpus, or ``shared:<name>`` in ../shared/real-scenes (skips without it)."""
    name = str(expected["scene"])
    if name.startswith("shared:"):
        return request.getfixturevalue("real_scenes") / name[len("shared:"):]
    return CORPUS / name


def _absolute(path: str, base: Path) -> str:
    absolute = path.startswith("/") or path[1:3] == ":/"   # the saving machine's (POSIX or a drive)
    return path if absolute else (base / path).as_posix()


@pytest.mark.parametrize("expectation", EXPECTATIONS, ids=lambda p: p.name)
def test_a_real_scene_lists_what_it_really_references(expectation, request):
    expected = yaml.safe_load(expectation.read_text(encoding="utf-8"))
    scene = _scene(expected, request)
    base = scene.parent if str(expected["scene"]).startswith("shared:") else CORPUS
    env = {k: str(v).replace("{here}", CORPUS.as_posix()) for k, v in (expected.get("env") or {}).items()}
    result = scan_scene(str(scene), env=env)
    got = {d.path: {"kind": d.kind, "exists": d.exists, "source": d.source} for d in result.dependencies}
    assert got == {_absolute(p, base): v for p, v in expected["dependencies"].items()}
    unloaded = {w.split(":", 1)[0] for w in result.warnings if "is unloaded" in w}
    assert unloaded == set(expected.get("unloaded") or ())   # loaded per the -rdi table: scanned inside
    assert result.frames == expected["frames"]
    assert sorted(o.path for o in result.outputs) == sorted(_absolute(p, scene.parent) for p in expected["outputs"])
    own = {layer: range_spec(*frames) for layer, frames in result.info.layer_frames.items()}
    assert own == (expected.get("layer_frames") or {})   # render setup overrides, read offline


@pytest.mark.parametrize("expectation", [p for p in EXPECTATIONS if "tiles:" in p.read_text(encoding="utf-8")],
                         ids=lambda p: p.name)
def test_a_real_scene_lists_each_texture_tile_on_disk(expectation, tmp_path):
    """The tiles a real UDIM scene's repository holds beside it (images, so not in this corpus):
    with stand-ins of those names beside a copy of the scene, each is listed instead of the pattern."""
    expected = yaml.safe_load(expectation.read_text(encoding="utf-8"))
    scene = tmp_path / Path(expected["scene"]).name
    shutil.copyfile(CORPUS / expected["scene"], scene)
    for name in expected["tiles"]:
        (tmp_path / name).write_text("stand-in", encoding="utf-8")
    result = scan_scene(str(scene), env={})
    textures = sorted(d.path for d in result.dependencies if d.kind == "texture" and d.exists)
    assert textures == sorted((tmp_path / name).as_posix() for name in expected["tiles"])
    assert result.missing == []
