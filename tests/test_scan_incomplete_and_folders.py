"""Release-review defects in scanning, proved on real files on disk.

1. ``#``/``@`` in a FOLDER name is part of the folder, not frame padding (Maya, Arnold and
   Houdini read padding tokens in the file name only); Houdini's ``$F`` still works anywhere.
2. A truncated top-level scene is bad input (exit 2, one line naming the file); a truncated
   referenced scene is scanned but marked incomplete, and ``submit`` refuses it unless
   ``--allow-missing``."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.maya_files import file_node, reference, render_globals, touch, write_ma
from support.hipwriter import HipWriter

from cloudsubmit.errors import ScanError
from cloudsubmit.scan import scan_scene

WEIRD = ("shot #2", "@archive", "tex")   # '#' and '@' and a space, nested


@pytest.fixture
def weird(tmp_path: Path) -> Path:
    """A folder path with '#', '@' and spaces holding a plate sequence 1-10 and UDIM tiles."""
    folder = tmp_path.joinpath("show", *WEIRD)
    for f in range(1, 11):
        touch(folder / f"plate.{f:04d}.exr")
    for tile in (1001, 1002, 1011):
        touch(folder / f"wood.{tile}.exr")
    touch(folder / "rock.0003.bgeo.sc")
    touch(folder / "rock.0004.bgeo.sc")
    return folder


def _found(deps, folder: Path):
    return {Path(d.path).name: d.exists for d in deps.dependencies if d.path.startswith(folder.as_posix())}


def test_hash_and_at_in_folders_of_a_maya_scene_are_folders(tmp_path, weird):
    scene = write_ma(tmp_path / "shot.ma", [
        render_globals(3, 4),
        file_node("plate", f"{weird.as_posix()}/plate.####.exr"),
        file_node("plate_at", f"{weird.as_posix()}/plate.@@@@.exr"),
        file_node("wood", f"{weird.as_posix()}/wood.<UDIM>.exr"),
        file_node("wood_tiled", f"{weird.as_posix()}/wood.1001.exr", uvt="3"),
    ])
    deps = scan_scene(str(scene), frames=[3, 4])
    found = _found(deps, weird)
    assert found == {"plate.0003.exr": True, "plate.0004.exr": True,
                     "wood.1001.exr": True, "wood.1002.exr": True, "wood.1011.exr": True}
    assert not deps.missing


def test_hash_and_at_in_folders_of_a_hip_with_dollar_f(tmp_path, weird):
    w = HipWriter(hip=tmp_path.as_posix(), frange=(3, 4))
    w.node("obj/geo1/file1", "file", {"file": f"{weird.as_posix()}/rock.$F4.bgeo.sc"})
    w.node("mat/principled1", "principledshader::2.0", {"basecolor_texture": f"{weird.as_posix()}/wood.<UDIM>.exr"})
    scene = w.write(tmp_path / "shot.hip")
    deps = scan_scene(str(scene), frames=[3, 4])
    assert _found(deps, weird) == {"rock.0003.bgeo.sc": True, "rock.0004.bgeo.sc": True,
                                   "wood.1001.exr": True, "wood.1002.exr": True, "wood.1011.exr": True}
    assert not deps.missing


def test_dollar_f_in_a_folder_is_still_a_frame(tmp_path):
    """Houdini expands ``$F`` anywhere; the folder beside it may still hold a '#'."""
    for f in (3, 4):
        touch(tmp_path / "cache #1" / f"{f:04d}" / "geo.bgeo.sc")
    w = HipWriter(hip=tmp_path.as_posix(), frange=(3, 4))
    w.node("obj/geo1/file1", "file", {"file": "$HIP/cache #1/$F4/geo.bgeo.sc"})
    deps = scan_scene(str(w.write(tmp_path / "c.hip")), frames=[3, 4, 5])
    got = {d.path: d.exists for d in deps.dependencies if "cache #1" in d.path}
    base = (tmp_path / "cache #1").as_posix()
    assert got == {f"{base}/0003/geo.bgeo.sc": True, f"{base}/0004/geo.bgeo.sc": True,
                   f"{base}/0005/geo.bgeo.sc": False}


# --- truncated scenes --------------------------------------------------------------------------

def _cut(path: Path, keep: float = 0.6) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


ASS = """options
{
 name options
 texture_searchpath "/tex"
}
image
{
 name file1
 filename "/tex/a.exr"
}
"""


def _top_scenes(tmp_path: Path):
    ma = write_ma(tmp_path / "cut.ma", [file_node(f"f{i}", f"/tex/t{i}.png") for i in range(20)])
    hip = HipWriter(hip=tmp_path.as_posix()).node("obj/geo1/file1", "file", {"file": "$HIP/a.bgeo"}) \
        .write(tmp_path / "cut.hip")
    ass = tmp_path / "cut.ass"
    ass.write_text(ASS, encoding="utf-8")
    return {"ma": ma, "hip": hip, "ass": ass}


@pytest.mark.parametrize("fmt", ["ma", "hip", "ass"])
def test_a_truncated_top_level_scene_is_bad_input(cli, tmp_path, fmt):
    scene = _top_scenes(tmp_path)[fmt]
    assert cli("scan", str(scene), "--json").returncode in (0, 1)   # whole: scans
    _cut(scene)
    size = scene.stat().st_size
    with pytest.raises(ScanError, match="incomplete"):
        scan_scene(str(scene))
    res = cli("scan", str(scene))
    assert res.returncode == 2 and res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and str(scene) in lines[0] and f"byte {size}" in lines[0], res.stderr
    assert "Traceback" not in res.stderr


@pytest.fixture
def shot_with_cut_reference(tmp_path: Path) -> Path:
    touch(tmp_path / "tex" / "a.png")
    asset = write_ma(tmp_path / "assets" / "chair.ma", [file_node(f"f{i}", f"/tex/t{i}.png") for i in range(20)])
    _cut(asset)
    return write_ma(tmp_path / "shot.ma", [file_node("a", (tmp_path / "tex" / "a.png").as_posix())],
                    refs=[reference(asset.as_posix(), "chair")])


def test_a_truncated_reference_is_scanned_and_marked(cli, shot_with_cut_reference, tmp_path):
    asset = (tmp_path / "assets" / "chair.ma").as_posix()
    res = cli("scan", str(shot_with_cut_reference), "--json")
    assert res.returncode == 1, res.stderr
    out = json.loads(res.stdout)
    ref = next(d for d in out["dependencies"] if d["path"] == asset)
    assert ref["exists"] is True and "incomplete" in ref["problem"]
    ok = [d for d in out["dependencies"] if d["path"] != asset]
    assert all(d["problem"] == "" for d in ok)
    assert any(asset in w and "truncated" in w for w in out["warnings"])
    table = cli("scan", str(shot_with_cut_reference))
    assert table.returncode == 1 and "INCOMPLETE" in table.stdout and "1 incomplete" in table.stdout


def test_submit_refuses_a_truncated_reference_unless_allowed(cli, shot_with_cut_reference, tmp_path):
    asset = (tmp_path / "assets" / "chair.ma").as_posix()
    common = ("submit", str(shot_with_cut_reference), "--frames", "1", "--place", "render=local",
              "--scheduler", "local", "--dry-run", "--json")
    res = cli(*common, "--bundle-dir", str(tmp_path / "b1"))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert asset in res.stderr and "incomplete" in res.stderr and "--allow-missing" in res.stderr
    assert not (tmp_path / "b1").exists()
    res = cli(*common, "--bundle-dir", str(tmp_path / "b2"), "--allow-missing")
    assert res.returncode == 0, res.stderr


def test_the_panel_blocks_an_incomplete_reference_like_a_missing_file(shot_with_cut_reference, tmp_path):
    """The panel's "Submit anyway" appears for missing rows only, so an incomplete one counts as one."""
    from cloudsubmit.ui.models import build_rows
    from cloudsubmit.vocabulary import MISSING, TO_UPLOAD

    deps = scan_scene(str(shot_with_cut_reference), frames=[1])
    rows = {r.path: r for r in build_rows(deps, {d.path: TO_UPLOAD for d in deps.dependencies})}
    asset = rows[(tmp_path / "assets" / "chair.ma").as_posix()]
    assert asset.state == MISSING and "incomplete" in asset.source
    present = [d.path for d in deps.dependencies if d.exists and not d.problem]
    assert present and all(rows[p].state == TO_UPLOAD for p in present)


def test_a_truncated_referenced_mb_and_procedural_are_marked(tmp_path):
    """A cut-short .mb raises inside its reader; a cut .ass procedural only warns: both marked."""
    from support.mbwriter import MbWriter

    mb = MbWriter().node("RTFT", "col", [MbWriter().string("ftn", "/tex/col.exr")]).write(tmp_path / "prop.mb")
    _cut(mb, 0.7)
    ass = tmp_path / "proc.ass"
    ass.write_text(ASS, encoding="utf-8")
    _cut(ass)
    scene = write_ma(tmp_path / "shot.ma", [file_node("stand", ass.as_posix(), ntype="aiStandIn")],
                     refs=[reference(mb.as_posix(), "prop", typ="mayaBinary")])
    scene.write_text(scene.read_text(encoding="utf-8").replace('setAttr ".ftn"', 'setAttr ".dso"'), encoding="utf-8")
    deps = scan_scene(str(scene), frames=[1])
    marked = {d.path: d.problem for d in deps.dependencies if d.problem}
    assert set(marked) == {mb.as_posix(), ass.as_posix()}, deps.dependencies
    assert all("incomplete" in p for p in marked.values())
    assert {d.path for d in deps.problems} >= set(marked)
