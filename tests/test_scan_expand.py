"""The expander on real folders of files (fileseq style): tokens, frames, tiles, variables and
Maya project resolution, each checked against what is actually on disk."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from fixtures.maya_files import touch

from cloudsubmit.scan import expand
from cloudsubmit.scan.expand import DirCache, apply_frame_extension, apply_tiling, candidates, expand_value
from cloudsubmit.scan.maya_project import find_project
from cloudsubmit.scan.texture_siblings import SiblingFinder


def run(value, base, numbers=None, env=None, **kw):
    return expand_value(value, base_dir=str(base), numbers=numbers, cache=DirCache(), env=env or {}, **kw)


def names(exp, exists=True):
    return sorted(os.path.basename(p) for p, ok in exp.files if ok is exists)


@pytest.fixture
def tex(tmp_path):
    folder = tmp_path / "tex"
    for tile in (1001, 1002, 1011):
        touch(folder / f"body_col.{tile}.exr")
    touch(folder / "body_col.1001.tx")
    for u, v in ((0, 0), (1, 0)):
        touch(folder / f"head_u{u}_v{v}.png")
        touch(folder / f"arm_u{u + 1}_v{v + 1}.png")
    return folder


def test_udim_lists_the_tiles_on_disk_only(tex):
    exp = run(str(tex / "body_col.<UDIM>.exr"), tex)
    assert names(exp) == ["body_col.1001.exr", "body_col.1002.exr", "body_col.1011.exr"]
    assert names(exp, exists=False) == []


def test_udim_pattern_with_no_tile_is_one_missing_entry(tex):
    exp = run(str(tex / "nothing.<UDIM>.exr"), tex)
    assert exp.files == [(f"{tex.as_posix()}/nothing.<UDIM>.exr", False)]


def test_maya_uv_tiling_mode_turns_a_tile_name_into_the_set(tex):
    exp = run(str(tex / "body_col.1002.exr"), tex, tiling="udim")
    assert len(names(exp)) == 3
    assert names(run(str(tex / "head_u0_v0.png"), tex, tiling="zbrush")) == ["head_u0_v0.png", "head_u1_v0.png"]
    assert names(run(str(tex / "arm_u1_v1.png"), tex, tiling="mudbox")) == ["arm_u1_v1.png", "arm_u2_v1.png"]
    assert names(run(str(tex / "head_u<U>_v<V>.png"), tex)) == ["head_u0_v0.png", "head_u1_v0.png"]
    assert names(run(str(tex / "arm_<UVTILE>.png"), tex)) == ["arm_u1_v1.png", "arm_u2_v1.png"]


def test_apply_tiling_and_frame_extension_keep_the_rest_of_the_name():
    assert apply_tiling("/t/a.1001.v012.exr", "udim") == "/t/a.<UDIM>.v012.exr"
    assert apply_frame_extension("/p/plate_v002.0101.exr") == "/p/plate_v002.<f4>.exr"
    assert apply_frame_extension("/p/ref take 3.mov") == "/p/ref take 3.mov"
    assert apply_frame_extension("/p/no_number.png") == "/p/no_number.png"


@pytest.fixture
def plates(tmp_path):
    folder = tmp_path / "plates"
    for f in range(1, 11):
        touch(folder / f"plate.{f:04d}.exr")
        touch(folder / f"cache.{f}.bgeo.sc")
        touch(folder / f"geo_{f:03d}.abc")
    touch(folder / "plate.0003.exr.bak")
    return folder


@pytest.mark.parametrize("pattern", [
    "plate.####.exr", "plate.<f4>.exr", "plate.<f>.exr", "plate.%04d.exr", "plate.$F4.exr", "plate.${F4}.exr", "plate.@@@@.exr",
])
def test_frame_tokens_list_only_the_chosen_frames(plates, pattern):
    exp = run(str(plates / pattern), plates, numbers=[3, 4, 5])
    assert names(exp) == ["plate.0003.exr", "plate.0004.exr", "plate.0005.exr"]
    assert names(exp, exists=False) == []


def test_frames_outside_the_disk_range_are_reported_missing_with_their_padding(plates):
    exp = run(str(plates / "plate.####.exr"), plates, numbers=[9, 10, 11, 12])
    assert names(exp) == ["plate.0009.exr", "plate.0010.exr"]
    assert names(exp, exists=False) == ["plate.0011.exr", "plate.0012.exr"]


def test_unpadded_and_other_paddings(plates):
    assert names(run(str(plates / "cache.$F.bgeo.sc"), plates, numbers=[1, 10])) == ["cache.1.bgeo.sc", "cache.10.bgeo.sc"]
    assert names(run(str(plates / "geo_%03d.abc"), plates, numbers=[7])) == ["geo_007.abc"]
    # padding is respected: a 4-digit token does not pick up the 3-digit files
    assert names(run(str(plates / "geo_<f4>.abc"), plates, numbers=[7])) == []


def test_no_frames_chosen_lists_everything_on_disk(plates):
    assert len(names(run(str(plates / "plate.####.exr"), plates, numbers=None))) == 10


def test_houdini_frame_in_a_folder_name(tmp_path):
    for f in (1, 2):
        touch(tmp_path / "sim" / f"{f:04d}" / "vel.vdb")
    exp = run(str(tmp_path / "sim/$F4/vel.vdb"), tmp_path, numbers=[1, 2, 3])
    assert [(Path(p).parent.name, ok) for p, ok in exp.files] == [("0001", True), ("0002", True), ("0003", False)]


def test_environment_variables_in_all_three_spellings(tmp_path):
    touch(tmp_path / "show" / "tex" / "wall.png")
    env = {"SHOW": str(tmp_path / "show"), "SUB": "tex"}
    for value in ("$SHOW/tex/wall.png", "${SHOW}/$SUB/wall.png", "%SHOW%/%SUB%/wall.png"):
        exp = run(value, tmp_path, env=env)
        assert exp.files == [((tmp_path / "show/tex/wall.png").as_posix(), True)], value


def test_unset_variable_is_a_warning_and_a_visible_missing_path(tmp_path):
    exp = run("$TEXTURE_ROOT/wall.png", tmp_path)
    assert exp.warnings == ["$TEXTURE_ROOT is not set"]
    assert exp.files == [("$TEXTURE_ROOT/wall.png", False)]


def test_a_literal_name_that_looks_like_a_pattern_is_taken_as_is(tmp_path):
    touch(tmp_path / "icon@2x.png")
    touch(tmp_path / "take#1.png")
    assert names(run(str(tmp_path / "icon@2x.png"), tmp_path, numbers=[1])) == ["icon@2x.png"]
    assert names(run(str(tmp_path / "take#1.png"), tmp_path, numbers=[1])) == ["take#1.png"]


def test_paths_inside_the_dcc_install_are_not_dependencies(tmp_path):
    assert run("<MAYA_RESOURCES>/OCIO-configs/Maya2022-default/config.ocio", tmp_path).files == []
    assert run("$HFS/houdini/pic/Mandril.pic", tmp_path).files == []


def test_one_directory_listing_per_folder(plates, monkeypatch):
    calls = []
    real = os.listdir
    monkeypatch.setattr(expand.os, "listdir", lambda p: calls.append(p) or real(p))
    cache = DirCache()
    for pattern in ("plate.####.exr", "cache.$F.bgeo.sc", "geo_%03d.abc", "plate.0001.exr"):
        expand_value(str(plates / pattern), base_dir=str(plates), numbers=list(range(1, 101)), cache=cache, env={})
    assert calls == [plates.as_posix()]


def test_tx_sibling_only_when_present(tex):
    finder = SiblingFinder(DirCache())
    assert finder.siblings(f"{tex.as_posix()}/body_col.1001.exr") == [f"{tex.as_posix()}/body_col.1001.tx"]
    assert finder.siblings(f"{tex.as_posix()}/body_col.1002.exr") == []


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "proj"
    (root / "scenes" / "seq").mkdir(parents=True)
    (root / "workspace.mel").write_text(
        '//Maya 2023 Project Definition\n\nworkspace -fr "sourceImages" "textures/src";\n'
        'workspace -fr "scene" "scenes";\nworkspace -fr "images" "renders";\n', encoding="utf-8")
    touch(root / "textures/src/brick.png")
    touch(root / "data/plate.png")
    touch(root / "scenes/seq/local.png")
    return root


def test_workspace_mel_is_found_above_the_scene_and_its_rules_read(project):
    proj = find_project(str(project / "scenes/seq/shot.ma"))
    assert proj.root == project.as_posix()
    assert proj.rule_dirs("texture") == [(project / "textures/src").as_posix()]
    assert proj.images_dir == (project / "renders").as_posix()


def resolve(value, project):
    proj = find_project(str(project / "scenes/seq/shot.ma"))
    exp = run(value, project / "scenes/seq", project=proj.root, rule_dirs=proj.rule_dirs("texture"))
    return exp.files


def test_maya_resolution_order(project, tmp_path):
    # a bare name: the file rule for textures
    assert resolve("brick.png", project) == [((project / "textures/src/brick.png").as_posix(), True)]
    # relative to the project root
    assert resolve("data/plate.png", project) == [((project / "data/plate.png").as_posix(), True)]
    # the <old root>//<relative> form moves with the project
    assert resolve("/mnt/old_server/proj//data/plate.png", project) == [((project / "data/plate.png").as_posix(), True)]
    # an absolute path that moved: the file name in the scene's folder
    assert resolve(f"{tmp_path.as_posix()}/gone/local.png", project) == [((project / "scenes/seq/local.png").as_posix(), True)]
    # nowhere: the path as written is reported, not a guess
    assert resolve("/mnt/elsewhere/none.png", project) == [("/mnt/elsewhere/none.png", False)]
    assert resolve("sub/none.png", project) == [((project / "sub/none.png").as_posix(), False)]


def test_candidates_without_a_project_use_the_scene_folder():
    assert candidates("tex/a.png", "/shots/010") == ["/shots/010/tex/a.png", "/shots/010/a.png"]
    assert candidates("Z:\\lib\\a.png", "/shots/010") == ["Z:/lib/a.png", "/shots/010/a.png"]


def test_a_token_only_the_renderer_knows_lists_every_candidate_and_says_so(tmp_path):
    for name in ("rock_a.exr", "rock_b.exr", "tree_a.exr"):
        touch(tmp_path / name)
    exp = run(str(tmp_path / "rock_<attr:variant default:a>.exr"), tmp_path)
    assert names(exp) == ["rock_a.exr", "rock_b.exr"]
    assert exp.warnings == ["<attr:variant default:a> cannot be resolved offline: every file it may stand for is listed"]


def test_shared_frame_numbers_with_an_offset_match_like_a_plain_list(tmp_path):
    for f in (11, 12, 14):
        touch(tmp_path / f"plate.{f:04d}.exr")
    frames = expand.FrameNumbers(range(1, 6))
    shifted = frames.shifted(10)
    assert list(shifted) == [11, 12, 13, 14, 15] and 13 in shifted and 3 not in shifted
    pattern = f"{tmp_path.as_posix()}/plate.<f4>.exr"
    as_list = expand.match_on_disk(pattern, [11, 12, 13, 14, 15], DirCache())
    assert expand.match_on_disk(pattern, shifted, DirCache()) == as_list
    assert [ok for _, ok in as_list] == [True, True, True, False, False]
