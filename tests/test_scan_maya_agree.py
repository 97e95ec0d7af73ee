"""The same Maya nodes saved as .ma and as .mb give the same RawRefs and the same files on disk.

Each node is described once and written both ways (tests/fixtures/maya_files.py layout for .ma,
tests/support/mbwriter.py for .mb), so a rule interpreted differently by the two readers shows up here."""
from __future__ import annotations

from dataclasses import asdict

import pytest
from fixtures.maya_files import mel_string, touch, write_ma

from cloudsubmit.scan import maya_ascii, maya_binary, scan_scene
from cloudsubmit.scan.model import ReadContext
from support.mbwriter import MbWriter

PXR_TEXTURE = 0x0011AB01  # a plug-in id the .mb tag table does not know: typed by attribute + requires

# (node type, .mb tag, name, [(short attribute, value)]); str values are strings, the rest numbers.
NODES = [
    ("cacheFile", "CCHF", "clothCache1", [("cp", "cache/nCache/cloth"), ("cn", "clothShape")]),
    ("cacheFile", "CCHF", "noNameYet", [("cp", "cache/nCache/empty")]),
    ("file", "RTFT", "mudboxTex", [("ftn", "tex/body_u1_v1.exr"), ("uvt", 2)]),
    ("file", "RTFT", "mariTex", [("ftn", "tex/skin.1001.exr"), ("uvt", 3)]),
    ("file", "RTFT", "explicitTex", [("ftn", "tex/eye.1001.exr"), ("uvt", 4)]),
    ("imagePlane", "DIPL", "plateShape", [("imn", "plates/bg.0001.exr"), ("ufe", True), ("fe", 12), ("fo", -2)]),
    ("imagePlane", "DIPL", "drivenShape", [("imn", "plates/fg.0001.exr"), ("ufe", True), ("fe", 7)]),
    ("movie", "RTMV", "clip", [("ftn", "ref/animatic.mov")]),
    ("PxrTexture", PXR_TEXTURE, "rmanTex", [("filename", "tex/rman.tex")]),
    ("script", "SCRP", "sceneConfigurationScriptNode", [("b", "playbackOptions -min 1001 -max 1100 -ast 990 -aet 1200")]),
    # a compound child after an index: ".rep[0].rda" in a .ma, a leaf "rep[0].rda" in a .mb (as "uvst[0].uvsn" in real files)
    ("assemblyDefinition", 0x580000B2, "AD_rock", [("rep[0].rty", "Scene"), ("rep[0].rda", "assets/rock.ma"),
                                                   ("rep[1].rty", "Cache"), ("rep[1].rda", "assets/rock.abc"),
                                                   ("rep[2].rty", "Locator"), ("rep[2].rda", "rock")]),
    ("camera", "DCAM", "perspShape", [("imn", "persp")]),
    ("camera", "DCAM", "topShape", [("rnd", False), ("imn", "top")]),
]
PARENTS = {"perspShape": "persp", "topShape": "top"}
RENDER_GLOBALS = [("ren", "arnold"), ("ifp", "<Scene>/<RenderLayer>/<Scene>")]
CONNECTIONS = [("time1.o", "drivenShape.fe")]


def _ma_value(value) -> str:
    if isinstance(value, str):
        return f"-type \"string\" {mel_string(value)}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def write_both(tmp_path):
    blocks = []
    w = MbWriter().requires("RenderMan_for_Maya.py", "24.3", "PxrTexture")
    def mb_attrs(attrs):
        return [w.string(a, v) if isinstance(v, str) else w.double(a, float(v)) for a, v in attrs]

    def ma_attrs(attrs):
        return "".join(f'\n\tsetAttr ".{a}" {_ma_value(v)};' for a, v in attrs)

    for ntype, tag, name, attrs in NODES:
        parent = PARENTS.get(name)
        blocks.append(f'createNode {ntype} -n "{name}"' + (f' -p "{parent}"' if parent else "") + ";" + ma_attrs(attrs))
        w.node(tag, name, mb_attrs(attrs), parent=parent)
    blocks.append("select -ne :defaultRenderGlobals;" + ma_attrs(RENDER_GLOBALS))
    w.select("defaultRenderGlobals", mb_attrs(RENDER_GLOBALS))
    blocks += [f'connectAttr "{a}" "{b}";' for a, b in CONNECTIONS]
    w.connections(CONNECTIONS)
    ma = write_ma(tmp_path / "shot.ma", blocks)
    mb = w.write(tmp_path / "shot.mb")
    return ma, mb


def refs(reader, path):
    result = reader.read(str(path), ReadContext())
    return sorted((asdict(r) for r in result.refs), key=lambda r: (r["source"], r["value"])), asdict(result.info)


def test_ma_and_mb_give_the_same_raw_refs_and_scene_info(tmp_path):
    ma, mb = write_both(tmp_path)
    (from_ma, info_ma), (from_mb, info_mb) = refs(maya_ascii, ma), refs(maya_binary, mb)
    assert from_ma == from_mb
    assert info_ma == info_mb
    assert (info_ma["frame_start"], info_ma["frame_end"], info_ma["renderer"], info_ma["cameras"]) == (
        1001.0, 1100.0, "arnold", ["persp"])
    got = {r["source"]: r for r in from_ma}
    # what they agree on is what the table means, not two equal mistakes
    assert got["clothCache1.cachePath"]["value"] == "cache/nCache/cloth/clothShape.xml"
    assert "noNameYet.cachePath" not in got
    assert [got[s]["tiling"] for s in ("mudboxTex.fileTextureName", "mariTex.fileTextureName")] == ["mudbox", "udim"]
    plate, driven = got["plateShape.imageName"], got["drivenShape.imageName"]
    assert (plate["sequence"], plate["frame_value"], plate["frame_offset"]) == (True, 12.0, -2)
    assert (driven["sequence"], driven["frame_value"]) == (True, None)
    assert (got["clip.fileTextureName"]["kind"], got["rmanTex.filename"]["node_type"]) == ("movie", "PxrTexture")
    reps = [got[f"AD_rock.representations[{i}].repData"] for i in (0, 1)]
    assert [(r["value"], r["kind"], r["follow"]) for r in reps] == [
        ("assets/rock.ma", "reference", True), ("assets/rock.abc", "cache", False)]
    assert "AD_rock.representations[2].repData" not in got   # a Locator's data is its text
    render = got["defaultRenderGlobals.imageFilePrefix"]
    assert (render["value"], render["output"]) == ("<Scene>/<RenderLayer>/<Scene>", True)


@pytest.mark.parametrize("frames", [[1, 2, 3]])
def test_ma_and_mb_list_the_same_files(tmp_path, frames):
    ma, mb = write_both(tmp_path)
    for rel in ("cache/nCache/cloth/clothShape.xml", "tex/body_u1_v1.exr", "tex/body_u2_v1.exr",
                "tex/skin.1001.exr", "tex/skin.1002.exr", "tex/skin.1011.exr", "tex/eye.1001.exr",
                "plates/bg.0010.exr", "plates/bg.0011.exr", "plates/fg.0001.exr", "plates/fg.0002.exr",
                "plates/fg.0003.exr", "plates/fg.0004.exr", "ref/animatic.mov", "tex/rman.tex"):
        touch(tmp_path / rel)

    def files(scene):
        found = scan_scene(str(scene), frames=frames, env={})
        deps = sorted((d.path.rsplit("/", 1)[-1], d.exists, d.source) for d in found.dependencies if d.source != "scene")
        return deps + sorted(("output", o.path.rsplit("/", 1)[-1], o.source) for o in found.outputs)

    from_ma = files(ma)
    assert from_ma == files(mb)
    names = {name for name, exists, _ in from_ma if exists is True}
    assert ("output", "shot", "defaultRenderGlobals.imageFilePrefix") in from_ma
    assert {"body_u2_v1.exr", "skin.1011.exr", "clothShape.xml", "fg.0003.exr"} <= names
    assert "bg.0010.exr" in names and "bg.0011.exr" not in names   # static frame 12 - 2
    assert "fg.0004.exr" not in names                               # driven: frames 1-3 only
