"""The Maya ASCII reader on scenes written the way Maya writes them: what it extracts (values as
written, sources, frame/tiling flags, references, scene info) and what it survives."""
from __future__ import annotations

import pytest
from fixtures.maya_files import file_node, node, reference, render_globals, write_ma

from cloudsubmit.config import load_config
from cloudsubmit.errors import ScanError
from cloudsubmit.scan import maya_ascii
from cloudsubmit.scan.model import ReadContext


def read(path, config=None):
    return maya_ascii.read(str(path), ReadContext(config=config, env={}))


def by_source(result):
    return {r.source: r for r in result.refs}


def test_file_nodes_long_and_short_names_and_explicit_node_names(tmp_path):
    scene = write_ma(tmp_path / "a.ma", [
        file_node("wall", "/tex/wall.png"),
        node("file", "floor", 'setAttr ".fileTextureName" -type "string" "/tex/floor.png";'),
        node("file", "ceiling"),
        'setAttr "ceiling.ftn" -type "string" "/tex/ceiling.png";',
    ])
    refs = by_source(read(scene))
    assert refs["wall.fileTextureName"].value == "/tex/wall.png"
    assert refs["floor.fileTextureName"].value == "/tex/floor.png"
    assert refs["ceiling.fileTextureName"].value == "/tex/ceiling.png"
    assert refs["wall.fileTextureName"].kind == "texture"


def test_camera_image_name_is_not_a_file_but_image_plane_is(tmp_path):
    scene = write_ma(tmp_path / "a.ma", [
        node("transform", "shotCam"),
        node("camera", "shotCamShape", 'setAttr ".imn" -type "string" "shotCam";', parent="shotCam"),
        node("imagePlane", "imagePlaneShape1", 'setAttr ".imn" -type "string" "/plates/bg.0001.exr";', 'setAttr ".ufe" yes;',
             parent="imagePlane1"),
    ])
    result = read(scene)
    assert [r.value for r in result.refs] == ["/plates/bg.0001.exr"]
    assert result.refs[0].sequence is True and result.refs[0].kind == "image"
    assert result.info.cameras == ["shotCam"]


def test_string_continuation_escapes_and_spaces(tmp_path):
    scene = write_ma(tmp_path / "a.ma", [
        'createNode file -n "long";\n\tsetAttr ".ftn" -type "string" ("/show/assets/very long folder name/"\n'
        '\t\t+ "textures/diffuse map.png");',
        file_node("quoted", 'C:\\textures\\say "hi".png'),
    ])
    refs = by_source(read(scene))
    assert refs["long.fileTextureName"].value == "/show/assets/very long folder name/textures/diffuse map.png"
    assert refs["quoted.fileTextureName"].value == 'C:\\textures\\say "hi".png'


def test_codeset_932_japanese_paths(tmp_path):
    # 表 and ソ end in byte 0x5C ("\") in Shift-JIS: a byte-level MEL parser would break on them
    path = "/プロジェクト/表面テクスチャ/ソファ_色.png"
    scene = write_ma(tmp_path / "jp.ma", [file_node("ソファ_file", path), file_node("wall", "/tex/壁.png")],
                     codeset="932", encoding="cp932")
    assert "表".encode("cp932")[-1:] == b"\\"
    refs = {r.value for r in read(scene).refs}
    assert refs == {path, "/tex/壁.png"}


@pytest.mark.parametrize("codeset,encoding", [("UTF-8", "utf-8"), ("65001", "utf-8"), ("1252", "cp1252")])
def test_other_codesets(tmp_path, codeset, encoding):
    path = "/textures/café_crème.png"
    scene = write_ma(tmp_path / "x.ma", [file_node("f", path)], codeset=codeset, encoding=encoding)
    assert read(scene).refs[0].value == path


def test_crlf_line_endings(tmp_path):
    scene = write_ma(tmp_path / "win.ma", [file_node("f", "D:/tex/a.png"), render_globals(5, 9)], newline="\r\n")
    result = read(scene)
    assert [r.value for r in result.refs if not r.output] == ["D:/tex/a.png"]
    assert (result.info.frame_start, result.info.frame_end) == (5, 9)


def test_references_loaded_deferred_binary_and_copy_numbers(tmp_path):
    refs = [reference("/assets/chair.ma", "chair"), reference("/assets/lamp.mb", "lamp", deferred=True, typ="mayaBinary"),
            'file -r -ns "chair1" -rfn "chairRN1" -op "v=0;" -typ "mayaAscii" "/assets/chair.ma{1}";']
    scene = write_ma(tmp_path / "shot.ma", [node("reference", "chairRN")], refs=refs)
    got = [(r.value, r.source, r.deferred, r.follow) for r in read(scene).refs if r.kind == "reference"]
    assert got == [("/assets/chair.ma", "chairRN", False, True), ("/assets/lamp.mb", "lampRN", True, True),
                   ("/assets/chair.ma", "chairRN1", False, True)]


def test_frame_extension_static_value_offset_and_connected_expression(tmp_path):
    scene = write_ma(tmp_path / "a.ma", [
        file_node("static", "/seq/a.0001.png", ufe="yes", fe="12", fo="3"),
        file_node("animated", "/seq/b.0001.png", ufe="yes", fe="1"),
        node("expression", "animated_fe", 'setAttr ".ixp" -type "string" ".O[0]=frame";'),
        file_node("tiles", "/tex/t.1001.exr", uvt="3"),
        'connectAttr "animated_fe.out[0]" "animated.fe";',
    ])
    refs = by_source(read(scene))
    static, animated, tiles = refs["static.fileTextureName"], refs["animated.fileTextureName"], refs["tiles.fileTextureName"]
    assert (static.sequence, static.frame_value, static.frame_offset) == (True, 12.0, 3)
    assert (animated.sequence, animated.frame_value) == (True, None)
    assert (tiles.tiling, tiles.sequence) == ("udim", False)


def test_caches_standins_arrays_and_color_management(tmp_path):
    scene = write_ma(tmp_path / "a.ma", [
        node("AlembicNode", "anim_abc", 'setAttr ".fn" -type "string" "/cache/anim.abc";',
             'setAttr ".fns" -type "stringArray" 2 "/cache/anim.abc" "/cache/anim_fix.abc"  ;'),
        node("aiStandIn", "treeShape", 'setAttr ".dso" -type "string" "/ass/tree.ass";', parent="tree"),
        node("cacheFile", "clothCache", 'setAttr ".cp" -type "string" "/cache/ncache";', 'setAttr ".cn" -type "string" "clothShape";'),
        node("mayaUsdProxyShape", "stageShape", 'setAttr ".fp" -type "string" "/usd/set.usda";'),
        "select -ne :defaultColorMgtGlobals;\n\tsetAttr \".cfe\" yes;\n\tsetAttr \".cfp\" -type \"string\" \"/show/ocio/config.ocio\";",
    ])
    values = {(r.source, r.value) for r in read(scene).refs}
    assert ("anim_abc.abc_layerFiles", "/cache/anim_fix.abc") in values
    assert ("anim_abc.abc_File", "/cache/anim.abc") in values
    assert ("treeShape.dso", "/ass/tree.ass") in values
    assert ("clothCache.cachePath", "/cache/ncache/clothShape.xml") in values
    assert ("stageShape.filePath", "/usd/set.usda") in values
    assert ("defaultColorMgtGlobals.configFilePath", "/show/ocio/config.ocio") in values


def test_scene_info_and_render_output(tmp_path):
    scene = write_ma(tmp_path / "a.ma", [
        node("transform", "persp"), node("camera", "perspShape", 'setAttr ".rnd" no;', parent="persp"),
        node("transform", "cam_main"), node("camera", "cam_mainShape", parent="cam_main"),
        node("renderLayer", "defaultRenderLayer"), node("renderLayer", "rs_beauty"),
        node("script", "sceneConfigurationScriptNode", 'setAttr ".b" -type "string" "playbackOptions -min 1 -max 48 -ast 1 -aet 60 ";'),
        render_globals(1001, 1024, renderer="redshift", prefix="<Scene>/<RenderLayer>"),
    ])
    result = read(scene)
    info = result.info
    assert (info.frame_start, info.frame_end, info.renderer) == (1001, 1024, "redshift")
    assert info.cameras == ["cam_main"] and info.layers == ["defaultRenderLayer", "rs_beauty"]
    outs = [r for r in result.refs if r.output]
    # one output per renderable layer, named as Maya names the files (rs_beauty -> beauty)
    assert [(o.value, o.source) for o in outs] == [("<Scene>/masterLayer", "defaultRenderGlobals.imageFilePrefix"),
                                                   ("<Scene>/beauty", "defaultRenderGlobals.imageFilePrefix")]


def test_playback_range_when_render_globals_say_nothing(tmp_path):
    scene = write_ma(tmp_path / "a.ma", [
        node("script", "sceneConfigurationScriptNode", 'setAttr ".b" -type "string" "playbackOptions -min 10 -max 20 -ast 1 -aet 60 ";')])
    info = read(scene).info
    assert (info.frame_start, info.frame_end) == (10, 20)


def test_studio_rows_from_config(tmp_path):
    cfg_file = tmp_path / "studio.yaml"
    cfg_file.write_text("scan:\n  extra_maya_attributes:\n    - {node_type: studioLookFile, attr: lookPath, short: lkp, kind: look}\n",
                        encoding="utf-8")
    scene = write_ma(tmp_path / "a.ma", [node("studioLookFile", "look1", 'setAttr ".lkp" -type "string" "/looks/hero.json";')])
    refs = read(scene, config=load_config(studio_file=str(cfg_file)))
    assert [(r.source, r.value, r.kind) for r in refs.refs] == [("look1.lookPath", "/looks/hero.json", "look")]


def test_statements_across_block_boundaries(tmp_path, monkeypatch):
    nodes = [file_node(f"f{i}", f"/tex/t{i}.png") + "\n" + node("mesh", f"m{i}", 'setAttr -s 3 ".vt[0:2]" 1 2 3\n\t\t 4 5 6\n\t\t 7 8 9;')
             for i in range(200)]
    scene = write_ma(tmp_path / "a.ma", nodes)
    whole = [r.value for r in read(scene).refs]
    monkeypatch.setattr(maya_ascii, "BLOCK", 97)
    assert [r.value for r in read(scene).refs] == whole
    assert len(whole) == 200


def test_truncated_scene_keeps_what_it_read_and_warns(tmp_path):
    full = write_ma(tmp_path / "full.ma", [file_node("a", "/tex/a.png"), file_node("b", "/tex/b.png")])
    data = full.read_bytes()
    cut = data[: data.index(b"/tex/b.png") + 4]
    (tmp_path / "cut.ma").write_bytes(cut)
    result = read(tmp_path / "cut.ma")
    assert [r.value for r in result.refs] == ["/tex/a.png"]
    assert any("truncated" in w for w in result.warnings)
    assert not read(full).warnings


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage\xff" * 100, b"createNode file;\n", "//Maya ASCII".encode()[:-1]])
def test_not_a_maya_ascii_scene(tmp_path, content):
    path = tmp_path / "bad.ma"
    path.write_bytes(content)
    with pytest.raises(ScanError) as err:
        read(path)
    assert str(path) in err.value.message and err.value.exit_code == 2


def test_binary_garbage_after_a_valid_header_does_not_crash(tmp_path):
    # Statements are found where the previous one ends (``;`` at a line end) or after a comment
    # line: the statement on the line right after garbage is lost with it, the next ones are read.
    path = tmp_path / "odd.ma"
    path.write_bytes(b"//Maya ASCII 2023 scene\n" + bytes(range(256)) * 50 + b'\ncreateNode file -n "f";\n\tsetAttr ".ftn" -type "string" "/t.png";\n'
                     b'createNode file -n "g";\n\tsetAttr ".ftn" -type "string" "/t2.png";\n')
    assert [r.value for r in read(path).refs] == ["/t2.png"]



def test_reference_edits_that_repoint_a_texture_are_listed(tmp_path):
    edits = (
        'createNode reference -n "charRN";\n'
        '\tsetAttr ".phl[1]" 0;\n'
        '\tsetAttr ".ed" -type "dataReferenceEdits" \n'
        '\t\t"charRN"\n'
        '\t\t"charRN" 4\n'
        '\t\t2 "|char:geo|char:body" "visibility" " 1"\n'
        '\t\t2 "char:skin_file" "fileTextureName" " -type \\"string\\" \\"/show/tex/skin_v002 final.1001.png\\""\n'
        '\t\t\n'
        '\t\t2 "char:skin_file" "colorSpace" " -type \\"string\\" \\"sRGB\\""\n'
        '\t\t2 "char:cam" "imageName" " -type \\"string\\" \\"char_cam\\""\n'
        '\t\t5 4 "charRN" "|char:ctrl.translateX" "charRN.placeHolderList[1]" "";'
    )
    scene = write_ma(tmp_path / "shot.ma", [edits], refs=[reference("/assets/char.ma", "char")])
    refs = [(r.source, r.value, r.kind) for r in read(scene).refs if r.kind != "reference"]
    assert refs == [("char:skin_file.fileTextureName", "/show/tex/skin_v002 final.1001.png", "texture")]


def test_shapes_sharing_a_name_under_different_parents_are_all_read(tmp_path):
    scene = write_ma(tmp_path / "a.ma", [
        node("transform", "treeA"), node("aiStandIn", "standInShape", 'setAttr ".dso" -type "string" "/ass/oak.ass";', parent="treeA"),
        node("transform", "treeB"), node("aiStandIn", "standInShape", 'setAttr ".dso" -type "string" "/ass/pine.ass";', parent="treeB"),
    ])
    assert sorted(r.value for r in read(scene).refs) == ["/ass/oak.ass", "/ass/pine.ass"]


def test_random_corruption_gives_a_result_or_a_scan_error_never_a_crash(tmp_path):
    import random

    from cloudsubmit.commands.demo import EXAMPLE, SCENE

    original = (EXAMPLE / SCENE).read_bytes()
    rng = random.Random(2026)
    path = tmp_path / "fuzz.ma"
    for _ in range(300):
        data = bytearray(original)
        for _ in range(rng.randint(1, 40)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        path.write_bytes(bytes(data))
        try:
            result = read(path)
        except ScanError as exc:
            assert "fuzz.ma" in exc.message
            continue
        assert all(isinstance(r.value, str) for r in result.refs)


def test_an_empty_image_prefix_means_the_scene_name(tmp_path):
    scene = write_ma(tmp_path / "a.ma", [render_globals(1, 2)])
    assert [(r.value, r.output) for r in read(scene).refs] == [("<Scene>", True)]


def test_set_attr_with_a_full_name_on_a_default_node(tmp_path):
    scene = write_ma(tmp_path / "a.ma", ['setAttr ":defaultRenderGlobals.ren" -type "string" "vray";',
                                         'setAttr ":defaultColorMgtGlobals.cfp" -type "string" "/ocio/show.ocio";'])
    result = read(scene)
    assert result.info.renderer == "vray"
    assert [r.value for r in result.refs if r.kind == "ocio"] == ["/ocio/show.ocio"]


def test_old_scene_without_codeset_uses_the_studio_default(tmp_path):
    path = "/テクスチャ/表札.png"
    scene = write_ma(tmp_path / "old.ma", [file_node("sign", path)], codeset="932", encoding="cp932")
    scene.write_bytes(scene.read_bytes().replace(b"//Codeset: 932\n", b""))
    cfg = load_config(overrides={"scan.maya_default_codeset": "932"})
    assert [r.value for r in read(scene, config=cfg).refs] == [path]
