"""Renderer texture siblings on disk: Arnold .tx (plain and per colour space, spaces kept),
RenderMan .<ext>.tex, Redshift .rs*bin; for every UDIM tile and frame a scan expands to."""
from __future__ import annotations

from pathlib import Path

from fixtures.maya_files import file_node, touch, write_ma

from cloudsubmit.config import load_config
from cloudsubmit.scan import scan_scene
from cloudsubmit.scan.expand import DirCache
from cloudsubmit.scan.texture_siblings import SiblingFinder


def names(paths):
    return sorted(Path(p).name for p in paths)


def test_each_renderer_naming_beside_the_source(tmp_path):
    for n in ("wood.exr", "wood.tx", "wood_sRGB_ACEScg.exr.tx", "wood_Utility - sRGB - Texture_ACES - ACEScg.exr.tx",
              "wood.exr.tex", "wood.rstexbin", "woodland.tx", "wood_v2.exr", "wood_v2_sRGB_ACEScg.exr.tx",
              "wood_sRGB_ACEScg.png.tx", "wood_raw.exr.tx"):
        touch(tmp_path / n)
    finder = SiblingFinder(DirCache())
    assert names(finder.siblings(f"{tmp_path.as_posix()}/wood.exr")) == [
        "wood.exr.tex", "wood.rstexbin", "wood.tx", "wood_Utility - sRGB - Texture_ACES - ACEScg.exr.tx",
        "wood_sRGB_ACEScg.exr.tx"]
    # wood_v2's own tx is not wood's; a .png's tx is not the .exr's; one underscore is no colour pair
    assert names(finder.siblings(f"{tmp_path.as_posix()}/wood_v2.exr")) == ["wood_v2_sRGB_ACEScg.exr.tx"]


def test_converted_files_named_directly_have_no_siblings(tmp_path):
    for n in ("wood.tx", "wood.exr.tex", "wood.exr.tex.tex"):
        touch(tmp_path / n)
    finder = SiblingFinder(DirCache())
    assert finder.siblings(f"{tmp_path.as_posix()}/wood.tx") == []
    assert finder.siblings(f"{tmp_path.as_posix()}/wood.exr.tex") == []


def test_a_scan_lists_siblings_of_every_tile_and_frame_as_textures(tmp_path):
    tex = tmp_path / "tex"
    for tile in (1001, 1002):
        touch(tex / f"body.{tile}.exr")
        touch(tex / f"body.{tile}_sRGB_ACEScg.exr.tx")
        touch(tex / f"body.{tile}.exr.tex")
    for frame in (1, 2, 3):
        touch(tex / f"flip.{frame:04d}.png")
        touch(tex / f"flip.{frame:04d}.rstexbin")
    touch(tex / "flip.0009.rstexbin")   # a frame the scan does not render
    scene = write_ma(tmp_path / "shot.ma", [
        file_node("body", "tex/body.1001.exr", uvt="3"),
        file_node("flip", "tex/flip.0001.png", ufe="yes"),
        'select -ne :defaultRenderGlobals;\n\tsetAttr ".fs" 1;\n\tsetAttr ".ef" 3;',
    ])
    result = scan_scene(str(scene), env={})
    deps = {Path(d.path).name: d for d in result.dependencies}
    for n in ("body.1001_sRGB_ACEScg.exr.tx", "body.1002_sRGB_ACEScg.exr.tx", "body.1001.exr.tex", "body.1002.exr.tex",
              "flip.0001.rstexbin", "flip.0002.rstexbin", "flip.0003.rstexbin"):
        assert deps[n].exists and deps[n].kind == "texture", n
    assert deps["body.1002.exr.tex"].source == "body.fileTextureName"
    assert "flip.0009.rstexbin" not in deps
    off = scan_scene(str(scene), env={}, config=load_config(overrides={"scan.tx_siblings": False}))
    assert not any(d.path.endswith((".tx", ".tex", ".rstexbin")) for d in off.dependencies)
