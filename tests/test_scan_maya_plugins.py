"""Plug-in node types studios render with, from the node/attribute table (attributes.yaml), in the
form their plug-ins write them into a .ma (RenderMan for Maya and V-Ray use long names in setAttr;
the RfM lines below are as RfM 24 writes them), and the files those nodes point into: .vrscene
archives, .xgen collections, folders, optional GI caches; render outputs per layer, camera and AOV."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fixtures.maya_files import node, render_globals, touch, write_ma

from cloudsubmit.scan import maya_ascii, scan_scene
from cloudsubmit.scan.attributes import split_path_list
from cloudsubmit.scan.model import ReadContext

TABLE = Path(__file__).resolve().parent.parent / "cloudsubmit" / "scan" / "attributes.yaml"


def deps(result):
    return {d.path: d for d in result.dependencies}


def rows():
    data = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    return [(t, r) for t, rs in data.items() for r in rs if not r.get("name_attr")]


@pytest.mark.parametrize("node_type,row", rows(), ids=lambda v: v if isinstance(v, str) else v["attr"])
def test_every_table_row_is_read_by_its_short_name(tmp_path, node_type, row):
    scene = write_ma(tmp_path / "a.ma", [node(node_type, "n1", f'setAttr ".{row["short"]}" -type "string" "/data/x_{row["attr"]}";')])
    refs = {(r.source, r.value, r.kind) for r in maya_ascii.read(str(scene), ReadContext(env={})).refs if not r.output}
    assert (f"n1.{row['attr']}", f"/data/x_{row['attr']}", row["kind"]) in refs


def test_renderman_lights_and_textures_as_rfm_writes_them(tmp_path):
    for name in ("DiskLight_profile.ies", "DomeLight_texture.tex", "tile_0.tex", "mask.tex", "shader.oso"):
        touch(tmp_path / name)
    scene = write_ma(tmp_path / "rfm.ma", [
        node("PxrDiskLight", "DiskLightShape", 'setAttr ".iesProfile" -type "string" "./DiskLight_profile.ies";',
             'setAttr ".iesProfileScale" 1.2000000476837158;', parent="DiskLight"),
        node("PxrDomeLight", "DomeLightShape", 'setAttr ".lightColorMap" -type "string" "./DomeLight_texture.tex";',
             parent="DomeLight"),
        node("PxrMultiTexture", "multi", 'setAttr ".filename0" -type "string" "tile_0.tex";'),
        node("PxrLayeredTexture", "layered", 'setAttr ".maskTexture" -type "string" "mask.tex";'),
        node("PxrOSL", "osl", 'setAttr ".shadername" -type "string" "shader.oso";'),
    ])
    found = deps(scan_scene(str(scene), env={}))
    root = tmp_path.as_posix()
    assert found[f"{root}/DiskLight_profile.ies"].kind == "ies"
    assert found[f"{root}/DomeLight_texture.tex"].source == "DomeLightShape.lightColorMap"
    for name in ("tile_0.tex", "mask.tex", "shader.oso"):
        assert found[f"{root}/{name}"].exists, name


def test_vray_settings_caches_count_only_when_present(tmp_path):
    touch(tmp_path / "gi" / "shot.vrmap")
    scene = write_ma(tmp_path / "v.ma", [node("VRaySettingsNode", "vraySettings",
                                              'setAttr ".fnm" -type "string" "gi/shot.vrmap";',
                                              'setAttr ".lcfnm" -type "string" "gi/never_baked.vrlmap";')])
    result = scan_scene(str(scene), env={})
    assert f"{tmp_path.as_posix()}/gi/shot.vrmap" in deps(result)
    assert not any("never_baked" in p for p in deps(result)) and result.missing == []


def test_a_vrscene_is_read_for_its_files_and_includes(tmp_path):
    touch(tmp_path / "tex" / "wood.exr")
    touch(tmp_path / "proxy" / "tree.vrmesh")
    touch(tmp_path / "lights.vrscene", 'LightIES lamp {\n\ties_file="ies/missing.ies";\n}\n')
    touch(tmp_path / "set.vrscene",
          '#include "lights.vrscene"\n\nBitmapBuffer bitmapBuffer_wood {\n\tfile="tex/wood.exr";\n\tfilter_type= 1;\n'
          '\tfilter_blur= 1.000;\n}\n\nGeomMeshFile tree_proxy {\n\tfile= "proxy/tree.vrmesh";\n\tanim_speed= 1;\n}\n')
    scene = write_ma(tmp_path / "shot.ma", [node("VRayScene", "setShape", 'setAttr ".FilePath" -type "string" "set.vrscene";')])
    result = scan_scene(str(scene), env={})
    found = deps(result)
    root = tmp_path.as_posix()
    assert found[f"{root}/set.vrscene"].kind == "vrscene" and found[f"{root}/lights.vrscene"].exists
    assert found[f"{root}/tex/wood.exr"].source == "bitmapBuffer_wood.file"
    assert found[f"{root}/proxy/tree.vrmesh"].exists
    assert [Path(d.path).name for d in result.missing] == ["missing.ies"]


def test_an_xgen_collection_brings_its_data_folder(tmp_path):
    data = tmp_path / "xgen" / "collections" / "hair_coll"
    touch(data / "hair_desc" / "paintmaps" / "length" / "body.ptx")
    touch(data / "hair_desc" / "Region" / "body.ptx")
    touch(tmp_path / "scenes" / "shot__hair_coll.abc")
    touch(tmp_path / "scenes" / "shot__hair_coll.xgen",
          "# XGen Collection File\n#\nFileVersion 18\n\nPalette\n\tname\t\t\thair_coll\n\tparent\n"
          f"\txgDataPath\t\t${{PROJECT}}xgen/collections/hair_coll\n\txgProjectPath\t\t{tmp_path.as_posix()}/\n"
          "\txgDogTag\n\tendAttrs\n\nDescription\n\tname\t\t\thair_desc\n\tendAttrs\n")
    scene = write_ma(tmp_path / "scenes" / "shot.ma", [
        node("xgmPalette", "hair_coll", 'setAttr ".xfn" -type "string" "shot__hair_coll.xgen";')])
    found = deps(scan_scene(str(scene), env={}))
    root = tmp_path.as_posix()
    for rel in ("xgen/collections/hair_coll/hair_desc/paintmaps/length/body.ptx",
                "xgen/collections/hair_coll/hair_desc/Region/body.ptx", "scenes/shot__hair_coll.abc"):
        assert found[f"{root}/{rel}"].exists, rel
    assert found[f"{root}/scenes/shot__hair_coll.xgen"].kind == "xgen"


def test_yeti_search_path_folders_and_cache_frames(tmp_path):
    for name in ("fur_a/noise.tif", "fur_b/clump.tif", "cache/groom.0001.fur", "cache/groom.0002.fur"):
        touch(tmp_path / name)
    scene = write_ma(tmp_path / "y.ma", [
        node("pgYetiMaya", "groomShape", 'setAttr ".cacheFileName" -type "string" "cache/groom.%04d.fur";',
             f'setAttr ".imageSearchPath" -type "string" "{tmp_path.as_posix()}/fur_a;fur_b";', parent="groom"),
        render_globals(1, 2)])
    found = deps(scan_scene(str(scene), env={}))
    root = tmp_path.as_posix()
    for rel in ("fur_a/noise.tif", "fur_b/clump.tif", "cache/groom.0001.fur", "cache/groom.0002.fur"):
        assert found[f"{root}/{rel}"].exists, rel
    assert found[f"{root}/fur_b/clump.tif"].kind == "texture"


def test_a_missing_folder_is_one_missing_entry(tmp_path):
    scene = write_ma(tmp_path / "b.ma", [node("BifMeshImportNode", "bif", 'setAttr ".bifMeshDirectory" -type "string" "cache/bif";')])
    result = scan_scene(str(scene), env={})
    assert [(d.path, d.kind) for d in result.missing] == [(f"{tmp_path.as_posix()}/cache/bif", "cache")]


def test_search_path_lists_split_like_a_path_variable():
    assert split_path_list("C:/tex;D:/lib") == ["C:/tex", "D:/lib"]
    assert split_path_list("/show/tex:/lib/tex") == ["/show/tex", "/lib/tex"]
    assert split_path_list(" tex ; ;$JOB/tex") == ["tex", "$JOB/tex"]


def test_assembly_and_usd_reference_assembly_are_followed(tmp_path):
    touch(tmp_path / "tex" / "rock.png")
    write_ma(tmp_path / "rock_AD.ma", [node("file", "rock_col", 'setAttr ".ftn" -type "string" "tex/rock.png";')])
    touch(tmp_path / "set.usda", '#usda 1.0\n\ndef "Set" (\n    references = @./missing_rock.usda@\n)\n{\n}\n')
    scene = write_ma(tmp_path / "shot.ma", [
        node("assemblyReference", "rockAR", 'setAttr ".def" -type "string" "rock_AD.ma";'),
        node("pxrUsdReferenceAssembly", "setAR", 'setAttr ".fp" -type "string" "set.usda";')])
    result = scan_scene(str(scene), env={})
    found = deps(result)
    assert found[f"{tmp_path.as_posix()}/tex/rock.png"].exists          # inside the assembly definition
    assert found[f"{tmp_path.as_posix()}/set.usda"].kind == "usd"
    assert f"{tmp_path.as_posix()}/missing_rock.usda" in {d.path for d in result.missing}   # followed into the USD


def test_outputs_per_renderable_layer_camera_and_aov(tmp_path):
    (tmp_path / "workspace.mel").write_text('workspace -fr "images" "images";\n', encoding="utf-8")
    scene = write_ma(tmp_path / "scenes" / "shot.ma", [
        node("transform", "persp"), node("camera", "perspShape", 'setAttr ".rnd" no;', parent="persp"),
        node("transform", "shotCam"), node("camera", "shotCamShape", parent="shotCam"),
        node("renderLayer", "defaultRenderLayer", 'setAttr ".rndr" no;'),
        node("renderSetupLayer", "char"), node("renderLayer", "rs_char", 'setAttr ".do" 1;'),
        node("renderSetupLayer", "shadow"), node("renderLayer", "rs_shadow", 'setAttr ".rndr" no;', 'setAttr ".do" 2;'),
        node("aiAOV", "aiAOV_diffuse", 'setAttr ".aovn" -type "string" "diffuse";'),
        node("aiAOV", "aiAOV_N", 'setAttr ".aoven" no;', 'setAttr ".aovn" -type "string" "N";'),
        render_globals(1, 2, prefix="<Scene>/<RenderLayer>/<Camera>/<RenderPass>"),
    ])
    outs = sorted(o.path for o in scan_scene(str(scene), env={}).outputs)
    images = f"{tmp_path.as_posix()}/images/shot/char/shotCam"
    assert outs == [f"{images}/beauty", f"{images}/diffuse"]


def test_an_archive_that_cannot_be_read_offline_is_listed_with_one_warning(tmp_path):
    touch(tmp_path / "ribarchives" / "set.zip")
    scene = write_ma(tmp_path / "r.ma", [node("RenderManArchive", "setArchive", 'setAttr ".filename" -type "string" "ribarchives/set.zip";')])
    result = scan_scene(str(scene), env={})
    assert deps(result)[f"{tmp_path.as_posix()}/ribarchives/set.zip"].kind == "archive"
    assert [w for w in result.warnings if "cannot be read offline" in w] == [
        f"setArchive.filename: {tmp_path.as_posix()}/ribarchives/set.zip cannot be read offline; the files it names are not listed"]


def _rman_globals(*sets: str) -> str:
    """rmanGlobals as RenderMan for Maya 24 writes it (``createNode rmanGlobals -s``, then its
    output settings among many others)."""
    return node("rmanGlobals", "rmanGlobals", 'rename -uid "F2FCF34C-4D6F-8947-235D-F584A6CADEE2";', 'setAttr ".cch" no;',
                'setAttr ".hider_maxSamples" 128;', *sets).replace('createNode rmanGlobals -n', 'createNode rmanGlobals -s -n')


def test_renderman_writes_to_its_own_output_folder_not_the_render_globals_prefix(tmp_path):
    (tmp_path / "workspace.mel").write_text('workspace -fr "images" "images";\n', encoding="utf-8")
    rman = _rman_globals('setAttr ".imageFileFormat" -type "string" "<scene>_<layer>_<camera>_<aov>.<f4>.<ext>";',
                         'setAttr ".version" 3;', 'setAttr ".take" 1;',
                         'setAttr ".imageOutputDir" -type "string" "<ws>/images/<scene>_v<version>_t<take>";')
    scene = write_ma(tmp_path / "scenes" / "shot.ma", [
        node("transform", "shotCam"), node("camera", "shotCamShape", parent="shotCam"),
        node("renderLayer", "defaultRenderLayer", 'setAttr ".g" yes;'), rman,
        render_globals(1, 2, renderer="renderman", prefix="<Scene>/<RenderLayer>")])
    result = scan_scene(str(scene), env={})
    root = tmp_path.as_posix()
    assert [(o.path, o.source) for o in result.outputs] == [
        (f"{root}/images/shot_v3_t1/shot_<layer>_<camera>_<aov>.<f4>.<ext>", "rmanGlobals.imageOutputDir")]
    info = maya_ascii.read(str(scene), ReadContext(env={})).info
    assert info.layer_outputs == {"defaultRenderLayer": ["<ws>/images/<scene>_v3_t1/<scene>_<layer>_<camera>_<aov>.<f4>.<ext>"]}


def test_renderman_without_an_output_folder_and_other_renderers_keep_the_prefix(tmp_path):
    rman = _rman_globals('setAttr ".imageOutputDir" -type "string" "<ws>/rman/<scene>";')
    other = write_ma(tmp_path / "arnold.ma", [rman, render_globals(1, 2, renderer="arnold", prefix="beauty/<Scene>")])
    assert [o.source for o in scan_scene(str(other), env={}).outputs] == ["defaultRenderGlobals.imageFilePrefix"]
    bare = write_ma(tmp_path / "bare.ma", [_rman_globals(), render_globals(1, 2, renderer="renderman", prefix="beauty/<Scene>")])
    assert [o.path for o in scan_scene(str(bare), env={}).outputs] == [f"{tmp_path.as_posix()}/beauty/bare"]
