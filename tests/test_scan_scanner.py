"""scan_scene end to end on a small shot on disk: references several levels deep (loaded,
deferred, binary, cyclic), UDIM tiles, sequences, missing files, project paths, variables."""
from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.maya_files import file_node, node, reference, render_globals, touch, write_ma

from cloudsubmit.config import load_config
from cloudsubmit.errors import Cancelled, ScanError
from cloudsubmit.scan import scan_scene


def deps(result):
    return {d.path: d for d in result.dependencies}


@pytest.fixture
def shot(tmp_path):
    """proj/ with workspace.mel; A (shot) refs B (set) refs C (prop) which refs A back;
    A also refs a deferred D and a binary E; textures, plates and a missing cache."""
    root = tmp_path / "proj"
    (root / "workspace.mel").parent.mkdir(parents=True)
    (root / "workspace.mel").write_text('workspace -fr "sourceImages" "sourceimages";\nworkspace -fr "scene" "scenes";\n', encoding="utf-8")
    for tile in (1001, 1002, 1004):
        touch(root / "sourceimages" / "prop" / f"prop_col.{tile}.exr")
    for f in range(1, 21):
        touch(root / "sourceimages" / "plates" / f"bg.{f:04d}.jpg")
    touch(root / "sourceimages" / "set" / "wall paper.png")
    touch(root / "sourceimages" / "deferred_only.png")
    touch(tmp_path / "lib" / "shared.png")
    write_ma(root / "assets" / "prop" / "C.ma",
             [file_node("prop_col", "sourceimages/prop/prop_col.1001.exr", uvt="3")],
             refs=[reference("scenes/A.ma", "loop")])
    write_ma(root / "assets" / "set" / "B.ma",
             [file_node("wall", "sourceimages/set/wall paper.png"), file_node("shared", "$LIB/shared.png"),
              render_globals(1, 10, prefix="set_turntable")],
             refs=[reference("assets/prop/C.ma", "prop")])
    write_ma(root / "assets" / "D.ma", [file_node("only_in_d", "sourceimages/deferred_only.png")])
    (root / "assets" / "E.mb").write_bytes(b"FOR8\x00\x00\x00\x00\x00\x00\x00\x10not really maya")
    write_ma(root / "scenes" / "A.ma", [
        node("imagePlane", "bgShape", 'setAttr ".imn" -type "string" "sourceimages/plates/bg.0001.jpg";', 'setAttr ".ufe" yes;',
             parent="bg"),
        node("expression", "bg_fe"),
        file_node("wall_again", "/old/server/proj//sourceimages/set/wall paper.png"),
        node("AlembicNode", "anim", 'setAttr ".fn" -type "string" "cache/alembic/anim.abc";'),
        render_globals(5, 8, prefix="<Scene>/beauty"),
        'connectAttr "bg_fe.out[0]" "bgShape.fe";',
    ], refs=[reference("assets/set/B.ma", "set"), reference("assets/D.ma", "d", deferred=True),
             reference("assets/E.mb", "e", typ="mayaBinary"), reference("assets/missing.ma", "gone")])
    return root


def scan(root, tmp_path, **kw):
    return scan_scene(str(root / "scenes" / "A.ma"), env={"LIB": str(tmp_path / "lib")}, **kw)


def test_references_are_followed_to_every_level(shot, tmp_path):
    found = deps(scan(shot, tmp_path))
    root = shot.as_posix()
    for rel in ("scenes/A.ma", "assets/set/B.ma", "assets/prop/C.ma", "sourceimages/set/wall paper.png",
                "sourceimages/prop/prop_col.1001.exr", "sourceimages/prop/prop_col.1004.exr"):
        assert found[f"{root}/{rel}"].exists, rel
    assert found[f"{root}/scenes/A.ma"].kind == "scene"
    assert found[f"{root}/assets/prop/C.ma"].source == "propRN"
    assert f"{root}/sourceimages/prop/prop_col.1003.exr" not in found


def test_scene_range_limits_sequences(shot, tmp_path):
    result = scan(shot, tmp_path)
    plates = sorted(Path(p).name for p in deps(result) if "/plates/" in p)
    assert plates == ["bg.0005.jpg", "bg.0006.jpg", "bg.0007.jpg", "bg.0008.jpg"]
    assert result.frames == "5-8"


def test_chosen_frames_override_the_scene_range(shot, tmp_path):
    result = scan(shot, tmp_path, frames=[19, 20, 21])
    plates = {Path(p).name: d.exists for p, d in deps(result).items() if "/plates/" in p}
    assert plates == {"bg.0019.jpg": True, "bg.0020.jpg": True, "bg.0021.jpg": False}


def test_missing_files_and_references_are_listed_not_raised(shot, tmp_path):
    result = scan(shot, tmp_path)
    missing = {Path(d.path).name: d for d in result.missing}
    assert set(missing) == {"missing.ma", "anim.abc"}
    assert missing["missing.ma"].size is None and missing["missing.ma"].kind == "reference"
    assert missing["anim.abc"].path == f"{shot.as_posix()}/cache/alembic/anim.abc"


def test_deferred_reference_is_listed_but_not_scanned(shot, tmp_path):
    result = scan(shot, tmp_path)
    found = deps(result)
    assert found[f"{shot.as_posix()}/assets/D.ma"].exists
    assert f"{shot.as_posix()}/sourceimages/deferred_only.png" not in found
    assert any("dRN" in w and "deferred" in w for w in result.warnings)
    cfg = load_config(overrides={"scan.follow_deferred_references": True})
    assert f"{shot.as_posix()}/sourceimages/deferred_only.png" in deps(scan(shot, tmp_path, config=cfg))


def test_binary_reference_is_a_dependency_and_problems_reading_it_are_warnings(shot, tmp_path):
    result = scan(shot, tmp_path)
    mb = f"{shot.as_posix()}/assets/E.mb"
    assert deps(result)[mb].exists
    assert any("E.mb" in w for w in result.warnings)


def test_cycle_and_dedup(shot, tmp_path):
    result = scan(shot, tmp_path)
    paths = [d.path for d in result.dependencies]
    assert len(paths) == len(set(paths))
    wall = deps(result)[f"{shot.as_posix()}/sourceimages/set/wall paper.png"]
    assert wall.source == "wall.fileTextureName"  # B's node came first (references are read first)
    assert wall.exists and deps(result)[(tmp_path / "lib" / "shared.png").as_posix()].exists


def test_depth_limit(shot, tmp_path):
    cfg = load_config(overrides={"scan.max_reference_depth": 1})
    result = scan(shot, tmp_path, config=cfg)
    assert f"{shot.as_posix()}/assets/prop/C.ma" in deps(result)
    assert f"{shot.as_posix()}/sourceimages/prop/prop_col.1001.exr" not in deps(result)
    assert any("max_reference_depth" in w for w in result.warnings)


def test_outputs_go_to_the_project_images_rule_and_are_not_dependencies(shot, tmp_path):
    result = scan(shot, tmp_path)
    assert [(o.path, o.source) for o in result.outputs] == [
        (f"{shot.as_posix()}/images/A/beauty", "defaultRenderGlobals.imageFilePrefix")]
    assert not any("/images/" in d.path for d in result.dependencies)
    assert result.info.renderer == "arnold" and result.info.project == shot.as_posix()


def test_unset_variable_warns_with_the_source(shot, tmp_path):
    result = scan_scene(str(shot / "scenes" / "A.ma"), env={})
    assert any(w.startswith("shared.fileTextureName: $LIB") for w in result.warnings)


def test_tx_siblings_follow_the_config(tmp_path):
    touch(tmp_path / "tex" / "a.exr")
    touch(tmp_path / "tex" / "a.tx")
    scene = write_ma(tmp_path / "s.ma", [file_node("a", "tex/a.exr")])
    assert (tmp_path / "tex/a.tx").as_posix() in deps(scan_scene(str(scene), env={}))
    off = load_config(overrides={"scan.tx_siblings": False})
    assert (tmp_path / "tex/a.tx").as_posix() not in deps(scan_scene(str(scene), env={}, config=off))


def test_progress_reports_and_cancels(shot, tmp_path):
    seen = []
    scan(shot, tmp_path, progress=seen.append)
    assert seen and all(r.stage == "scan" for r in seen)
    with pytest.raises(Cancelled):
        scan(shot, tmp_path, progress=lambda r: False)


@pytest.mark.parametrize("name,content,needle", [
    ("notes.txt", b"hello", "unknown scene format"),
    ("broken.ma", b"\x89PNG\r\n", "not a Maya ASCII scene"),
    ("missing.ma", None, "no such scene file"),
])
def test_bad_scenes_raise_one_line_naming_the_file(tmp_path, name, content, needle):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ScanError) as err:
        scan_scene(str(path))
    assert needle in err.value.message and name in err.value.message and "\n" not in err.value.message


@pytest.mark.parametrize("name", ["rig.anim.mb", "rig.layout.mb", "alembic_cube_for4.mb"])
def test_real_maya_binary_scenes(real_scenes, name):
    pytest.importorskip("cloudsubmit.scan.maya_binary")
    result = scan_scene(str(real_scenes / name), env={})
    assert result.dependencies[0].path == (real_scenes / name).as_posix() and result.dependencies[0].exists
    assert result.info.frame_start is not None and result.frames
    if name.startswith("rig."):  # saved at Laika: the show's OCIO config is not on this machine
        ocio = [d for d in result.dependencies if d.kind == "ocio"]
        assert [(d.exists, d.source) for d in ocio] == [(False, "defaultColorMgtGlobals.configFilePath")]
        assert ocio[0].path.endswith("/ocio/config.v13.ocio")


def test_a_format_whose_reader_is_not_installed_is_a_clear_scan_error(tmp_path, monkeypatch):
    from cloudsubmit import scan as scan_pkg

    monkeypatch.setitem(scan_pkg.READERS, ".c4d", "cloudsubmit.scan.cinema4d_not_written")
    scene = tmp_path / "shot.c4d"
    scene.write_bytes(b"XC4DC4D6")
    with pytest.raises(ScanError) as err:
        scan_scene(str(scene))
    assert "no reader for .c4d scenes" in err.value.message and "shot.c4d" in err.value.message


def test_a_show_ocio_config_brings_its_luts(tmp_path):
    ocio = tmp_path / "show" / "ocio"
    touch(ocio / "luts" / "srgb.spi1d")
    touch(ocio / "luts" / "film" / "print.cube")
    touch(ocio / "shared" / "aces.clf")
    (ocio / "config.ocio").write_text(
        'ocio_profile_version: 2\n\nsearch_path:\n  - luts\n  - $SHARED_LUTS\n  - missing_dir\nstrictparsing: true\n'
        'colorspaces:\n  - !<ColorSpace>\n    name: lin\n', encoding="utf-8")
    scene = write_ma(tmp_path / "s.ma", [
        "select -ne :defaultColorMgtGlobals;\n\tsetAttr \".cfe\" yes;\n"
        f"\tsetAttr \".cfp\" -type \"string\" \"{(ocio / 'config.ocio').as_posix()}\";"])
    result = scan_scene(str(scene), env={"SHARED_LUTS": str(ocio / "shared")})
    ocio_files = sorted(Path(d.path).name for d in result.dependencies if d.kind == "ocio")
    assert ocio_files == ["aces.clf", "config.ocio", "print.cube", "srgb.spi1d"]
    assert any("missing_dir" in w for w in result.warnings)


def test_a_value_naming_a_folder_is_not_counted_as_a_file(tmp_path):
    (tmp_path / "textures").mkdir()
    scene = write_ma(tmp_path / "s.ma", [file_node("oops", "textures")])
    result = scan_scene(str(scene), env={})
    folder = deps(result)[(tmp_path / "textures").as_posix()]
    assert (folder.exists, folder.size) == (False, None)
    assert any("is a folder" in w and "oops.fileTextureName" in w for w in result.warnings)


def test_maya_scene_follows_into_usd_and_arnold_readers(tmp_path, usd_core):
    pytest.importorskip("pxr")
    touch(tmp_path / "tex" / "rock.1001.exr")
    touch(tmp_path / "tex" / "rock.1002.exr")
    touch(tmp_path / "tex" / "bark.tx")
    (tmp_path / "usd").mkdir()
    (tmp_path / "usd" / "layout.usda").write_text('#usda 1.0\n(\n    subLayers = [@./anim.usda@]\n)\n', encoding="utf-8")
    (tmp_path / "usd" / "anim.usda").write_text(
        '#usda 1.0\ndef Shader "rock"\n{\n    asset inputs:file = @../tex/rock.<UDIM>.exr@\n}\n', encoding="utf-8")
    (tmp_path / "ass").mkdir()
    (tmp_path / "ass" / "tree.ass").write_text(
        'image\n{\n name bark_img\n filename "../tex/bark.tx"\n}\n', encoding="utf-8")
    scene = write_ma(tmp_path / "shot.ma", [
        node("mayaUsdProxyShape", "layoutShape", 'setAttr ".fp" -type "string" "usd/layout.usda";', parent="layout"),
        node("aiStandIn", "treeShape", 'setAttr ".dso" -type "string" "ass/tree.ass";', parent="tree"),
    ])
    found = {Path(p).name: d for p, d in deps(scan_scene(str(scene), env={})).items()}
    assert {"layout.usda", "anim.usda", "rock.1001.exr", "rock.1002.exr", "tree.ass", "bark.tx"} <= set(found)
    assert all(found[n].exists for n in ("anim.usda", "rock.1002.exr", "bark.tx"))


def _traced_peak(fn) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_textures_that_are_not_sequences_cost_the_same_at_any_frame_range(tmp_path):
    """300 plain textures and 30 UDIM sets: a long range may cost its frames once, never a list of
    every frame per reference (300 x 20,000 frames would be tens of MB here)."""
    blocks = []
    for i in range(330):
        if i % 11 == 0:
            for tile in (1001, 1002):
                touch(tmp_path / "tex" / f"udim_{i}.{tile}.exr")
            blocks.append(file_node(f"u{i}", f"{tmp_path.as_posix()}/tex/udim_{i}.1001.exr", uvt="3"))
        else:
            blocks.append(file_node(f"t{i}", touch(tmp_path / "tex" / f"plain_{i}.tx").as_posix()))
    for f in range(1, 4):
        touch(tmp_path / "plates" / f"bg.{f:04d}.jpg")
    blocks.append(file_node("plate", f"{tmp_path.as_posix()}/plates/bg.0001.jpg", ufe="yes"))
    scene = write_ma(tmp_path / "shot.ma", blocks)
    short = _traced_peak(lambda: scan_scene(str(scene), frames=range(1, 11), env={}))
    long_ = _traced_peak(lambda: scan_scene(str(scene), frames=range(1, 20001), env={}))
    found = scan_scene(str(scene), frames=range(1, 20001), env={})
    assert sum(1 for d in found.dependencies if d.exists) == 1 + 300 + 2 * 30 + 3  # scene, plain, UDIM tiles, plate frames
    assert sum(1 for d in found.dependencies if not d.exists) == 20000 - 3  # the plate's holes are listed
    held_by_frames = long_ - short
    per_missing_frame = held_by_frames / 20000
    assert per_missing_frame < 1500, f"{held_by_frames} bytes more at 20,000 frames"
