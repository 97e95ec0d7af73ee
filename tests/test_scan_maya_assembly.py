"""Scene assembly: an assemblyDefinition's representations (``.rep[i].rda`` the data, ``.rep[i].rty``
its type), as the sceneAssembly plug-in writes them into a .ma (the lines below copy the form of a
Maya 2020 ``*_AD.ma`` and a Maya 2015 level scene on public repositories: ``setAttr -s 3 ".rep";``
then four children per index, in that order). A Scene representation is a Maya file the scan
reads too, a Cache one an Alembic file for a gpuCache, a Locator's data is text."""
from __future__ import annotations

from fixtures.maya_files import node, touch, write_ma

from cloudsubmit.scan import maya_ascii, scan_scene
from cloudsubmit.scan.model import ReadContext


def representations(name: str, *reps: tuple) -> str:
    """An assemblyDefinition node as Maya writes it: (name, label, type, data) per representation."""
    lines = ['setAttr ".isc" yes;', 'setAttr ".icn" -type "string" "out_assemblyDefinition.png";',
             f'setAttr -s {len(reps)} ".rep";']
    for i, (rna, rla, rty, rda) in enumerate(reps):
        lines += [f'setAttr ".rep[{i}].rna" -type "string" "{rna}";', f'setAttr ".rep[{i}].rla" -type "string" "{rla}";',
                  f'setAttr ".rep[{i}].rty" -type "string" "{rty}";', f'setAttr ".rep[{i}].rda" -type "string" "{rda}";']
    return node("assemblyDefinition", name, *lines)


def deps(result):
    return {d.path: d for d in result.dependencies}


def test_definition_lists_its_scene_and_cache_representations_not_the_locator(tmp_path):
    root = tmp_path.as_posix()
    touch(tmp_path / "tex" / "brick.png")
    write_ma(tmp_path / "BlueBuilding.ma", [node("file", "brick", 'setAttr ".ftn" -type "string" "tex/brick.png";')])
    touch(tmp_path / "BlueBuilding.abc")
    write_ma(tmp_path / "BlueBuilding_AD.ma", [representations(
        "BlueBuildingAssembly", ("myLocator", "Locator", "Locator", "Annotation: BlueBuildingAssembly"),
        ("myScene", "BlueBuilding.ma", "Scene", f"{root}/BlueBuilding.ma"),
        ("myCache", "BlueBuilding.abc", "Cache", f"{root}/BlueBuilding.abc"))])
    shot = write_ma(tmp_path / "shot.ma", [node("assemblyReference", "blueAR", 'setAttr ".def" -type "string" "BlueBuilding_AD.ma";')])
    result = scan_scene(str(shot), env={})
    found = deps(result)
    assert found[f"{root}/BlueBuilding_AD.ma"].kind == "reference"
    assert found[f"{root}/BlueBuilding.ma"].source == "BlueBuildingAssembly.representations[1].repData"
    assert found[f"{root}/BlueBuilding.abc"].kind == "cache"
    assert found[f"{root}/tex/brick.png"].exists                  # the Scene representation was read too
    assert not [p for p in found if "Annotation" in p]
    assert result.missing == []


def test_definition_in_a_level_scene_with_relative_scene_representations(tmp_path):
    """A level scene holding assemblyDefinition nodes directly (Maya 2015 form: Scene then Locator,
    a data path relative to the project)."""
    root = tmp_path.as_posix()
    (tmp_path / "workspace.mel").write_text('workspace -fr "scene" "scenes";\n', encoding="utf-8")
    write_ma(tmp_path / "LevelData" / "Gotham" / "Fence.ma", [])
    level = write_ma(tmp_path / "scenes" / "level.ma", [
        representations("AD_Fence", ("Fence.mb", "Fence.mb", "Scene", "LevelData/Gotham/Fence.ma"),
                        ("Locator", "Locator", "Locator", "Locator")),
        representations("AD_Roof", ("Roof.mb", "Roof.mb", "Scene", "LevelData/Gotham/Roof.mb"),
                        ("Locator", "Locator", "Locator", "Locator"))])
    result = scan_scene(str(level), env={})
    assert deps(result)[f"{root}/LevelData/Gotham/Fence.ma"].exists
    assert [d.source for d in result.missing] == ["AD_Roof.representations[0].repData"]


def test_a_representation_type_the_table_does_not_know_is_one_warning_not_a_file(tmp_path):
    scene = write_ma(tmp_path / "a.ma", [representations("AD", ("x", "x", "StudioProxy", "proxies/x.bin"))])
    result = maya_ascii.read(str(scene), ReadContext(env={}))
    assert [r.value for r in result.refs if not r.output] == []
    assert result.warnings == ["AD.representations[0].repData: representation type 'StudioProxy' is unknown to the "
                               "scan; 'proxies/x.bin' was not listed"]


def test_named_setattr_outside_the_body_and_other_indexed_attributes_are_unchanged(tmp_path):
    """``setAttr "AD.rep[0].rda"`` after the node (as a reference edit or a script writes it) sets
    the same child; an indexed value without a child (``.fns[0]``) still reads as before."""
    touch(tmp_path / "later.abc")
    scene = write_ma(tmp_path / "a.ma", [
        representations("AD", ("c", "c", "Cache", "first.abc")),
        'setAttr "AD.rep[0].rda" -type "string" "later.abc";',
        node("file", "tex", 'setAttr ".ftn" -type "string" "t.png";')])
    refs = {(r.source, r.value) for r in maya_ascii.read(str(scene), ReadContext(env={})).refs if not r.output}
    assert refs == {("AD.representations[0].repData", "later.abc"), ("tex.fileTextureName", "t.png")}
