"""The Maya binary reader, on the real .mb files in ../shared/real-scenes and on files written by
tests/support/mbwriter.py in the layout those real files use."""
from __future__ import annotations

import random
import re
import shutil
import struct
from pathlib import Path

import pytest

from cloudsubmit.config import load_config
from cloudsubmit.errors import ScanError
from cloudsubmit.scan import maya_binary
from cloudsubmit.scan.attributes import load_table
from cloudsubmit.scan.iff import IffFile
from cloudsubmit.scan.model import ReadContext
from support.mbwriter import MbWriter

OCIO = "/laika/depts/prod_tech/jobs/template_show/.etc/ocio/config.v13.ocio"
AI_STANDIN = 0x00115C01
USD_PROXY = 0x58000095


def read(path, **ctx):
    return maya_binary.read(str(path), ReadContext(**ctx))


def by_source(result):
    return {r.source: r for r in inputs(result)}


def inputs(result):
    """The refs without the render output every scene with defaultRenderGlobals reports."""
    return [r for r in result.refs if not r.output]


# -- real files -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["rig.anim.mb", "rig.layout.mb"])
def test_real_for8_reports_the_ocio_config_of_another_machine(real_scenes, name):
    # hexdump: SLCT group ":defaultColorMgtGlobals" holds STR "cfp" with this absolute path
    result = read(real_scenes / name)
    assert [(r.value, r.source, r.kind, r.node_type) for r in inputs(result)] == [
        (OCIO, "defaultColorMgtGlobals.configFilePath", "ocio", "colorManagementGlobals")]
    assert result.warnings == []
    # defaultRenderGlobals is selected without an imageFilePrefix: Maya's default, as the .ma reader says
    assert [(r.value, r.kind, r.output) for r in result.refs if r.output] == [("<Scene>", "render", True)]


def test_real_for8_scene_info(real_scenes):
    # sceneConfigurationScriptNode: "playbackOptions -min 1 -max 120 -ast 1 -aet 200";
    # top/front/side carry rnd=0, persp does not.
    info = read(real_scenes / "rig.anim.mb").info
    assert (info.frame_start, info.frame_end) == (1.0, 120.0)
    assert info.cameras == ["persp"]
    assert info.layers == ["defaultRenderLayer"]


def test_real_for4_maya_2009(real_scenes):
    result = read(real_scenes / "alembic_cube_for4.mb")
    assert inputs(result) == [] and result.warnings == []
    assert (result.info.frame_start, result.info.frame_end) == (1001.0, 1048.0)
    assert result.info.cameras == ["persp"]


def test_real_node_names_types_and_parents(real_scenes):
    for4 = {n.name: n for n in maya_binary.list_nodes(str(real_scenes / "alembic_cube_for4.mb"))}
    assert (for4["pCubeShape1"].type, for4["pCubeShape1"].parent) == ("mesh", "pCube1")
    assert for4["xform"].parent == "|root|world"
    assert for4["perspShape"].tag == "DCAM" and for4["persp"].parent == ""
    for8 = {n.name: n for n in maya_binary.list_nodes(str(real_scenes / "rig.anim.mb"))}
    assert (for8["meshShape"].type, for8["meshShape"].parent) == ("mesh", "mesh")
    assert for8["skinCluster1"].tag == "FSCL" and for8["bot_jnt"].parent == "bot_ctrl"
    assert for8["persp"].parent == "" and for8["lightLinker1"].parent == ""   # UUID is not a parent
    assert all(n.type for n in for8.values()), "every tag in the real file is in the table"


def test_real_string_array_layout_through_a_studio_row(real_scenes, tmp_path):
    # :hardwareRenderingGlobals holds STR# "otfna": a 32-bit count (22) then 22 C strings
    studio = tmp_path / "studio.yaml"
    studio.write_text("scan:\n  extra_maya_attributes:\n    - {node_type: hardwareRenderingGlobals, "
                      "attr: objectTypeFilterNameArray, short: otfna, kind: test}\n")
    config = load_config(studio_file=str(studio), user_file=str(tmp_path / "none.yaml"), env={})
    refs = [r for r in read(real_scenes / "rig.anim.mb", config=config).refs if r.kind == "test"]
    assert len(refs) == 22
    assert (refs[0].value, refs[-1].value) == ("NURBS Curves", "Ornaments")
    assert refs[0].source == "hardwareRenderingGlobals.objectTypeFilterNameArray"


@pytest.mark.parametrize("name", ["rig.anim.mb", "alembic_cube_for4.mb"])
def test_real_chunk_tree_covers_the_file_exactly(real_scenes, name):
    path = real_scenes / name
    with open(path, "rb") as fh:
        iff = IffFile(fh, str(path))
        root = iff.root()
        seen, stack, last_end = 0, [root], 0
        while stack:
            group = stack.pop()
            for chunk in iff.children(group):
                seen += 1
                last_end = max(last_end, chunk.end)
                if chunk.is_group:
                    stack.append(chunk)
    assert root.end == path.stat().st_size == last_end
    assert seen > 300


@pytest.mark.parametrize("cut", [3, 20, 0.25, 0.5, 0.9, -1])
def test_truncated_real_file_is_a_scan_error_with_file_and_offset(real_scenes, tmp_path, cut):
    data = (real_scenes / "rig.anim.mb").read_bytes()
    n = cut if isinstance(cut, int) and cut > 0 else len(data) + cut if isinstance(cut, int) else int(len(data) * cut)
    bad = tmp_path / "cut.mb"
    bad.write_bytes(data[:n])
    with pytest.raises(ScanError) as err:
        read(bad)
    assert str(bad) in err.value.message and err.value.exit_code == 2
    assert "offset" in err.value.message or "not a Maya binary" in err.value.message


def test_corrupt_size_and_tag_are_scan_errors(real_scenes, tmp_path):
    data = bytearray((real_scenes / "rig.anim.mb").read_bytes())
    huge = bytearray(data)
    huge[0x2b0 + 8:0x2b0 + 16] = struct.pack(">Q", 2 ** 62)      # PLUG chunk size
    (tmp_path / "huge.mb").write_bytes(bytes(huge))
    with pytest.raises(ScanError, match=r"offset 0x2b0: chunk 'PLUG' claims"):
        read(tmp_path / "huge.mb")
    garbage = bytearray(data)
    garbage[0x3a8:0x3ac] = b"\x01\x02\x03\x04"                     # perspShape's CREA tag
    (tmp_path / "garbage.mb").write_bytes(bytes(garbage))
    with pytest.raises(ScanError, match=r"offset 0x3a8: invalid chunk tag"):
        read(tmp_path / "garbage.mb")


# -- generated files ------------------------------------------------------------------------------

def textured_scene(wide: bool) -> MbWriter:
    w = MbWriter(wide=wide, version="2024" if wide else "2009")
    w.requires("mtoa", "5.3.1", "aiStandIn")
    w.reference("/proj/assets/char/char_rig.mb", "char", "charRN")
    w.node("XFRM", "persp").node("DCAM", "perspShape", [w.string("imn", "persp")], parent="persp")
    w.node("DCAM", "topShape", [w.double("rnd", 0.0), w.string("imn", "top")], parent="top")
    w.node("RTFT", "skin_col", [
        w.string("ftn", "sourceimages/skin/skin_col.<UDIM>.tx"), w.double("uvt", 3.0)])
    w.node("RTFT", "flipbook", [
        w.string("ftn", "$JOB/seq/flip.####.exr"), w.double("ufe", 1.0), w.double("fe", 12.0),
        w.double("fo", -2.0)])
    w.node("RTFT", "unused", [w.string("ftn", "")])
    w.node("DMSH", "bodyShape", [w.mesh_data("o", 40000), w.string("ftn", "not/a/texture.exr")], parent="body")
    w.node("DIPL", "plate", [w.string("imn", "/plates/sh010/plate.%04d.dpx"), w.double("ufe", 1.0)])
    w.node("PSDT", "decal", [w.string("ftn", "/art/decal.psd")])
    w.node("AUDI", "dialogue", [w.string("f", "sound/sh010.wav")])
    w.node("CCHF", "clothCache1", [w.string("cp", "cache/nCache/cloth"), w.string("cn", "clothShape")])
    w.node("REFN", "charRN", [w.string("unrelated", "x")])
    w.node(AI_STANDIN, "treesShape", [w.string("dso", "/cache/trees.ass"), w.double("ufe", 0.0)], parent="trees")
    w.node(USD_PROXY, "stageShape", [w.string("fp", "shot.usda")], parent="stage")
    w.node("SCRP", "sceneConfigurationScriptNode", [w.string("b", "playbackOptions -min 1001 -max 1100 -ast 990 ")])
    w.select("defaultRenderGlobals", [w.string("ren", "arnold")])
    w.connections([("time1.o", "flipbook.fe")])
    return w


@pytest.mark.parametrize("wide", [True, False], ids=["FOR8", "FOR4"])
def test_generated_scene_textures_reference_plugins(tmp_path, wide):
    result = read(textured_scene(wide).write(tmp_path / "shot.mb"))
    refs = by_source(result)
    assert set(refs) == {"charRN.fileName", "skin_col.fileTextureName", "flipbook.fileTextureName",
                         "plate.imageName", "treesShape.dso", "stageShape.filePath", "decal.fileTextureName",
                         "dialogue.filename", "clothCache1.cachePath"}
    assert [(refs[s].node_type, refs[s].kind) for s in ("decal.fileTextureName", "dialogue.filename", "clothCache1.cachePath")] == [
        ("psdFileTex", "texture"), ("audio", "audio"), ("cacheFile", "cache")]
    ref = refs["charRN.fileName"]
    assert (ref.value, ref.kind, ref.follow, ref.node_type) == ("/proj/assets/char/char_rig.mb", "reference", True, "reference")
    udim = refs["skin_col.fileTextureName"]
    assert (udim.value, udim.tiling, udim.sequence, udim.kind) == ("sourceimages/skin/skin_col.<UDIM>.tx", "udim", False, "texture")
    flip = refs["flipbook.fileTextureName"]  # fe is driven by time1: every frame, not the saved 12
    assert (flip.value, flip.sequence, flip.frame_value, flip.frame_offset) == ("$JOB/seq/flip.####.exr", True, None, -2)
    assert refs["clothCache1.cachePath"].value == "cache/nCache/cloth/clothShape.xml"
    plate = refs["plate.imageName"]
    assert (plate.node_type, plate.kind, plate.sequence) == ("imagePlane", "image", True)
    assert (refs["treesShape.dso"].node_type, refs["treesShape.dso"].follow, refs["treesShape.dso"].sequence) == ("aiStandIn", True, False)
    assert (refs["stageShape.filePath"].kind, refs["stageShape.filePath"].follow) == ("usd", True)
    assert result.warnings == []
    info = result.info
    assert (info.frame_start, info.frame_end, info.renderer, info.cameras) == (1001.0, 1100.0, "arnold", ["persp"])


def test_unknown_tag_with_an_unambiguous_attribute_needs_no_warning(tmp_path):
    w = MbWriter()
    w.node("XIMP", "plate", [w.string("imn", "/plates/plate.####.dpx"), w.double("ufe", 1.0)])
    w.node(0x0ABCDEF0, "mystery", [w.string("notes", "/not/a/dependency.txt")])
    result = read(w.write(tmp_path / "unknown.mb"))
    assert [(r.source, r.node_type, r.sequence) for r in result.refs] == [("plate.imageName", "imagePlane", True)]
    assert result.warnings == []


def test_every_table_type_is_reachable_in_a_mb():
    types = maya_binary.load_types()
    reachable = set(types.tags.values()) | set(types.default_nodes.values()) | set(types.plugins)
    assert set(load_table()) <= reachable


def test_real_default_names_agree_with_the_tag_table(real_scenes):
    # Maya names a new node after its type (skinCluster1, polyCube1): an independent check of tags
    known = set(maya_binary.load_types().tags.values())
    checked = 0
    for scene in ("rig.anim.mb", "rig.layout.mb", "alembic_cube_for4.mb"):
        for node in maya_binary.list_nodes(str(real_scenes / scene)):
            m = re.fullmatch(r"([A-Za-z]+?)\d+", node.name)
            if m and m.group(1) in known:
                assert node.type == m.group(1), (scene, node)
                checked += 1
    assert checked >= 15


def test_unknown_plugin_node_is_typed_by_attributes_and_requires(tmp_path):
    w = MbWriter()
    w.node(0x0012ABCD, "cacheShape", [w.string("fn", "/abc/crowd.abc")])
    result = read(w.write(tmp_path / "ambiguous.mb"))
    (ref,) = result.refs
    assert ref.value == "/abc/crowd.abc" and ref.node_type == "AlembicNode"
    (warning,) = result.warnings
    assert "cacheShape" in warning and "0x0012ABCD" in warning
    assert "AlembicNode, RedshiftProxyMesh, VRayMesh" in warning

    w = MbWriter().requires("redshift4maya", "3.5.0")
    w.node(0x0012ABCD, "proxyShape", [w.string("fn", "/rs/tree.rs")])
    result = read(w.write(tmp_path / "redshift.mb"))
    assert [(r.node_type, r.kind) for r in result.refs] == [("RedshiftProxyMesh", "proxy")]
    assert result.warnings == []


def test_plugin_type_ids_from_the_plugins_own_source_type_nodes_without_requires(tmp_path):
    # AbcImport's AlembicNode, Maya's gpuCache and OpenUSD's reference assembly by their MTypeIds
    # (maya_binary_types.yaml says where each comes from): typed at once, no guess, no warning.
    w = MbWriter()
    w.node(0x00082697, "crowd_AlembicNode", [w.string("fn", "/abc/crowd.abc")])
    w.node(0x580000C4, "setShape", [w.string("cfn", "/abc/set_gpu.abc")])
    w.node(0x0010A251, "propAssembly", [w.string("fp", "/usd/prop.usda")])
    result = read(w.write(tmp_path / "typed.mb"))
    assert sorted((r.node_type, r.source, r.kind) for r in result.refs) == [
        ("AlembicNode", "crowd_AlembicNode.abc_File", "cache"), ("gpuCache", "setShape.cacheFileName", "cache"),
        ("pxrUsdReferenceAssembly", "propAssembly.filePath", "usd")]
    assert result.warnings == []


def test_string_arrays_give_one_ref_per_element(tmp_path):
    w = MbWriter(wide=False).requires("AbcImport", "1.0")
    w.node(0x0012ABCE, "crowd_AlembicNode", [
        w.string("fn", "/abc/base.abc"), w.strings("fns", ["/abc/base.abc", "/abc/layer_fx.abc", ""])])
    refs = read(w.write(tmp_path / "abc.mb")).refs
    assert [(r.source, r.value) for r in refs] == [
        ("crowd_AlembicNode.abc_File", "/abc/base.abc"),
        ("crowd_AlembicNode.abc_layerFiles", "/abc/base.abc"),
        ("crowd_AlembicNode.abc_layerFiles", "/abc/layer_fx.abc")]


@pytest.mark.parametrize("encoding,warned", [("utf-8", False), ("cp932", True)])
def test_japanese_paths(tmp_path, encoding, warned):
    path = "Z:/プロジェクト/テクスチャ/肌 カラー.<UDIM>.tif"
    w = MbWriter(encoding=encoding)
    w.node("RTFT", "肌テクスチャ", [w.string("ftn", path), w.double("uvt", 3.0)])
    result = read(w.write(tmp_path / "jp.mb"))
    assert [(r.value, r.source) for r in result.refs] == [(path, "肌テクスチャ.fileTextureName")]
    assert bool(result.warnings) is warned
    if warned:
        assert "cp932" in result.warnings[0] and "jp.mb" in result.warnings[0]


def test_studio_extra_attributes_apply_to_mb(tmp_path):
    studio = tmp_path / "studio.yaml"
    studio.write_text("scan:\n  extra_maya_attributes:\n"
                      "    - {node_type: transform, attr: lookdevFile, short: ldf, kind: lookdev}\n")
    config = load_config(studio_file=str(studio), user_file=str(tmp_path / "none.yaml"), env={})
    w = MbWriter()
    w.node("XFRM", "asset_grp", [w.string("ldf", "/assets/tree/lookdev.ma")])
    refs = read(w.write(tmp_path / "extra.mb"), config=config).refs
    assert [(r.source, r.kind) for r in refs] == [("asset_grp.lookdevFile", "lookdev")]
    assert read(tmp_path / "extra.mb").refs == []


def test_references_listed_once_and_nested_depth_records_left_to_the_referenced_file(tmp_path):
    w = MbWriter()
    w.reference("props/lamp.mb", "city:lamp", "city:lampRN", tag="FRDI")
    w.reference("/proj/set/city.mb", "city", "cityRN")
    w.reference("/proj/set/city.mb", "city", "cityRN")
    assert [r.value for r in read(w.write(tmp_path / "refs.mb")).refs] == ["/proj/set/city.mb"]


def test_truncated_generated_files_never_traceback(tmp_path):
    data = textured_scene(True).to_bytes()
    bad = tmp_path / "short.mb"
    for n in sorted({len(data) * i // 60 for i in range(60)} | {len(data) - 1}):
        bad.write_bytes(data[:n])
        with pytest.raises(ScanError) as err:
            read(bad)
        assert str(bad) in err.value.message


@pytest.mark.parametrize("wide", [True, False], ids=["FOR8", "FOR4"])
def test_corrupted_bytes_give_a_result_or_a_scan_error_never_a_crash(tmp_path, wide):
    data = textured_scene(wide).to_bytes()
    rng = random.Random(20261128)
    bad = tmp_path / "flipped.mb"
    outcomes = set()
    for _ in range(200):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        bad.write_bytes(bytes(mutated))
        try:
            read(bad)
            outcomes.add("read")
        except ScanError as err:
            assert str(bad) in err.message
            outcomes.add("error")
    assert outcomes == {"read", "error"}


def test_not_a_maya_file(tmp_path):
    (tmp_path / "text.mb").write_text("//Maya ASCII 2024 scene\n")
    with pytest.raises(ScanError, match="not a Maya binary"):
        read(tmp_path / "text.mb")
    other = MbWriter().to_bytes().replace(b"Maya", b"ILBM", 1)
    (tmp_path / "image.mb").write_bytes(other)
    with pytest.raises(ScanError, match="not a Maya scene"):
        read(tmp_path / "image.mb")
    with pytest.raises(ScanError, match="cannot read"):
        read(tmp_path / "missing.mb")


def test_copy_of_real_file_with_trailing_bytes_still_reads(real_scenes, tmp_path):
    copy = tmp_path / "rig.mb"
    shutil.copy(real_scenes / "rig.layout.mb", copy)
    with open(copy, "ab") as fh:
        fh.write(b"\0" * 13)
    assert [r.value for r in inputs(read(copy))] == [OCIO]


@pytest.mark.parametrize("mesh_bytes", [1_000, 200_000], ids=["one-read node", "node past one window"])
def test_a_node_reads_the_same_whether_small_or_larger_than_one_read(tmp_path, mesh_bytes):
    """A node up to one window is read with one call and sliced; a larger one leaf by leaf, with
    its bulk data skipped: both give the same references, for known and unknown node types."""
    w = MbWriter(wide=True)
    w.node("RTFT", "col", [w.mesh_data("o", mesh_bytes), w.string("ftn", "/tex/col.<UDIM>.tx"), w.double("uvt", 3.0)])
    w.node(0x0012ABCD, "cacheShape", [w.mesh_data("o", mesh_bytes), w.string("fn", "/abc/crowd.abc")])
    w.node("RTFT", "tiles", [w.mesh_data("o", mesh_bytes), w.strings("ftn", ["/tex/a.exr", "/tex/b.exr"])])
    refs = [(r.source, r.value, r.tiling) for r in inputs(read(w.write(tmp_path / "s.mb")))]
    assert refs == [("col.fileTextureName", "/tex/col.<UDIM>.tx", "udim"), ("cacheShape.abc_File", "/abc/crowd.abc", ""),
                    ("tiles.fileTextureName", "/tex/a.exr", ""), ("tiles.fileTextureName", "/tex/b.exr", "")]
