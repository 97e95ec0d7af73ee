"""Maya reference load state and reference edits, on scenes written as Maya writes them: every
``file -r`` carries ``-dr 1``; the ``file -rdi`` table says what is loaded (nested references too,
as ``-rfn "parent:childRN"``); reference edits in the parent win over the referenced file's value."""
from __future__ import annotations

import shutil
from pathlib import Path

from fixtures.maya_files import file_node, nested_reference, reference, touch, write_ma

from cloudsubmit.scan import maya_ascii, scan_scene
from cloudsubmit.scan.model import ReadContext

REPO = Path(__file__).resolve().parent.parent


def found(result):
    return {Path(d.path).name: d for d in result.dependencies}


def asset(root: Path, name: str, texture: str, refs=()) -> Path:
    """assets/<name>.ma with one texture under tex/, in a Maya project rooted at ``root`` (so the
    relative texture paths resolve from the project root, as in Maya)."""
    touch(root / "workspace.mel", 'workspace -fr "sourceImages" "tex";\n')
    touch(root / "tex" / texture)
    return write_ma(root / "assets" / f"{name}.ma", [file_node(f"{name}_col", f"tex/{texture}")], refs=refs)


def test_a_loaded_reference_written_by_maya_is_scanned_inside(tmp_path):
    asset(tmp_path, "chair", "chair_col.png")
    shot = write_ma(tmp_path / "shot.ma", [], refs=[reference("assets/chair.ma", "chair")])
    assert 'file -r -ns "chair" -dr 1' in shot.read_text()   # the form Maya writes for a loaded reference
    result = scan_scene(str(shot), env={})
    assert found(result)["chair_col.png"].exists and found(result)["chair_col.png"].kind == "texture"
    assert not any("unloaded" in w for w in result.warnings)


def test_an_unloaded_reference_is_listed_not_scanned(tmp_path):
    asset(tmp_path, "lamp", "lamp_col.png")
    shot = write_ma(tmp_path / "shot.ma", [], refs=[reference("assets/lamp.ma", "lamp", deferred=True)])
    result = scan_scene(str(shot), env={})
    assert found(result)["lamp.ma"].exists and "lamp_col.png" not in found(result)
    assert any("lampRN" in w and "unloaded" in w for w in result.warnings)


def test_the_depth_table_is_read_whatever_the_flag_order_and_line_breaks(tmp_path):
    # as in real scenes: -dr after -ns, the path on a continuation line, an -op string with '|'
    shot = write_ma(tmp_path / "shot.ma", [], refs=[
        'file -rdi 1 -ns "Zilla" -dr 1 -rfn "ZillaRN" -op "VERS|2018|UVER|undef|"\n\t\t -typ "mayaAscii" "/a/Zilla.ma";',
        'file -rdi 1 -ns "Kong" -rfn "KongRN" -op "v=0;" -typ "mayaAscii"\n\t\t "/a/Kong.ma";',
        'file -r -ns "Zilla" -dr 1 -rfn "ZillaRN" -op "v=0;" -typ "mayaAscii" "/a/Zilla.ma";',
        'file -r -ns "Kong" -dr 1 -rfn "KongRN" -op "v=0;" -typ "mayaAscii"\n\t\t "/a/Kong.ma";',
    ])
    refs = {r.source: r.deferred for r in maya_ascii.read(str(shot), ReadContext(env={})).refs if r.kind == "reference"}
    assert refs == {"ZillaRN": True, "KongRN": False}


def test_nested_state_comes_from_the_top_scene_table(tmp_path):
    # set.ma's own table says its lamp is loaded; the shot unloaded it: the shot's table wins
    asset(tmp_path, "lamp", "lamp_col.png")
    asset(tmp_path, "rug", "rug_col.png")
    asset(tmp_path, "set", "set_col.png", refs=[reference("lamp.ma", "lamp"), reference("rug.ma", "rug", deferred=True)])
    shot = write_ma(tmp_path / "shot.ma", [], refs=[
        reference("assets/set.ma", "set"),
        nested_reference("assets/lamp.ma", "lamp", "set", deferred=True),
        nested_reference("assets/rug.ma", "rug", "set"),
    ])
    result = scan_scene(str(shot), env={})
    names = found(result)
    assert names["set_col.png"].exists and names["rug_col.png"].exists    # loaded here, unloaded in set.ma
    assert names["lamp.ma"].exists and "lamp_col.png" not in names          # unloaded here, loaded in set.ma
    assert any("lampRN" in w and "unloaded" in w for w in result.warnings)


def test_three_levels_and_one_file_under_two_instances(tmp_path):
    # the same set twice: its lamp unloaded under the first instance, loaded under the second
    asset(tmp_path, "bulb", "bulb_col.png")
    asset(tmp_path, "lamp", "lamp_col.png", refs=[reference("bulb.ma", "bulb")])
    asset(tmp_path, "set", "set_col.png", refs=[reference("lamp.ma", "lamp")])
    shot = write_ma(tmp_path / "shot.ma", [], refs=[
        reference("assets/set.ma", "set"),
        nested_reference("assets/lamp.ma", "lamp", "set", deferred=True),
        'file -rdi 1 -ns "set1" -rfn "setRN1" -op "v=0;" -typ "mayaAscii" "assets/set.ma";',
        nested_reference("assets/lamp.ma", "lamp", "set1"),
        nested_reference("assets/bulb.ma", "bulb", "set1:lamp", depth=3, deferred=True),
        'file -r -ns "set1" -dr 1 -rfn "setRN1" -op "v=0;" -typ "mayaAscii" "assets/set.ma{1}";',
    ])
    names = found(scan_scene(str(shot), env={}))
    assert names["lamp_col.png"].exists                     # through the second instance
    assert names["bulb.ma"].exists and "bulb_col.png" not in names   # depth 3: unloaded by the shot


def edit_block(rn: str, node: str, path: str) -> str:
    return (f'createNode reference -n "{rn}";\n'
            f'\tsetAttr ".ed" -type "dataReferenceEdits" \n\t\t"{rn}"\n\t\t"{rn}" 1\n'
            f'\t\t2 "{node}" "fileTextureName" " -type \\"string\\" \\"{path}\\"";')


def test_a_reference_edit_wins_over_the_referenced_file_value(tmp_path):
    asset(tmp_path, "chair", "old_missing.png")
    (tmp_path / "tex" / "old_missing.png").unlink()      # the asset's own value is gone from disk
    touch(tmp_path / "tex" / "chair_v2.png")
    shot = write_ma(tmp_path / "shot.ma", [edit_block("chairRN", "chair:chair_col", "tex/chair_v2.png")],
                    refs=[reference("assets/chair.ma", "chair")])
    result = scan_scene(str(shot), env={})
    assert found(result)["chair_v2.png"].exists
    assert "old_missing.png" not in found(result) and result.missing == []


def test_an_edit_of_a_nested_reference_reaches_its_file(tmp_path):
    asset(tmp_path, "lamp", "lamp_old.png")
    (tmp_path / "tex" / "lamp_old.png").unlink()
    touch(tmp_path / "tex" / "lamp_new.png")
    asset(tmp_path, "set", "set_col.png", refs=[reference("lamp.ma", "lamp")])
    shot = write_ma(tmp_path / "shot.ma", [edit_block("setRN", "set:lamp:lamp_col", "tex/lamp_new.png")],
                    refs=[reference("assets/set.ma", "set"), nested_reference("assets/lamp.ma", "lamp", "set")])
    names = found(scan_scene(str(shot), env={}))
    assert names["lamp_new.png"].exists and names["set_col.png"].exists and "lamp_old.png" not in names


def test_demo_shot_lists_the_referenced_asset_textures(tmp_path):
    root = tmp_path / "demo"
    shutil.copytree(REPO / "cloudsubmit" / "examples" / "demo_shot", root)
    scene = root / "scenes" / "shot010_lighting.ma"
    assert 'file -r -ns "chair" -dr 1' in scene.read_text(encoding="utf-8")
    names = found(scan_scene(str(scene), env={}))
    for tile in ("chair_diffuse.1001.png", "chair_diffuse.1002.png", "chair_diffuse.1003.png"):
        assert names[tile].exists and names[tile].source == "chair_diffuse.fileTextureName"
