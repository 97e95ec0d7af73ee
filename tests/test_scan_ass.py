"""The Arnold .ass reader on files written here the way kick/MtoA/HtoA write them."""
from __future__ import annotations

import gzip

import pytest

from cloudsubmit.errors import ScanError
from cloudsubmit.scan import arnold_ass
from cloudsubmit.scan.model import ReadContext

ASS = r'''### exported: Sat Nov 28 10:00:00 2026
### from: Arnold 7.2.4.1 [d0f51c1c] linux x86_64 clang-10.0.1 oiio-2.4.1 osl-1.12.0 vdb-7.1.1 adlsdk-7.4.2.47 clmhub-3.1.1.43 rlm-14.2.5 optix-6.6.0 2023/05/22 10:22:14
### host app: MtoA 5.3.3 4d8f4e8a (fix-5.3.3) Maya 2023
### user: artist
### render_layer: defaultRenderLayer



options
{
 AA_samples 3
 outputs 2 1 STRING
  "RGBA RGBA defaultArnoldFilter@gaussian_filter defaultArnoldDriver@driver_exr.RGBA"
  "N VECTOR defaultArnoldFilter@gaussian_filter defaultArnoldDriver@driver_exr.RGBA"
 xres 1920
 yres 1080
 texture_searchpath "[SHOW_ROOT]/textures:sourceimages"
 procedural_searchpath "/nonexistent/procs;[SHOW_ROOT]/procs"
 frame 1001
}

gaussian_filter
{
 name defaultArnoldFilter@gaussian_filter
}

driver_exr
{
 name defaultArnoldDriver@driver_exr.RGBA
 filename "/renders/sh010/beauty.1001.exr"
 compression "zip"
}

polymesh
{
 name pCubeShape1
 nsides 6 1 UINT
4 4 4 4 4 4
 vidxs 24 1 b85UINT
B$ZuK*%<ho&1HrB$?Mr3
 vlist 8 1 VECTOR
-0.5 -0.5 0.5 0.5 -0.5 0.5 -0.5 0.5 0.5 0.5 0.5 0.5 -0.5 0.5 -0.5 0.5 0.5 -0.5
-0.5 -0.5 -0.5 0.5 -0.5 -0.5
 shader "aiStandardSurface1"
 # filename "/commented/out.exr"
 declare mtoa_constant_filename constant STRING
 mtoa_constant_filename "not/a/file/param.exr"
}

image
{
 name file1
 filename "wood/wood_diff.<udim>.tx"
 color_space "sRGB"
}

image
{
 name file2
 filename "C:/Program Files/tex \"quoted\" name.exr"
}

image
{
 name /obj/geo1/shopnet/img_rel
 filename "leaf.exr"
}

image
{
 name tex_jp
 filename "/show/テクスチャ/岩.tx"
}

procedural
{
 name standin1
 filename "trees/tree_v001.ass"
 override_nodes off
}

procedural
{
 name oldstyle
 dso "/opt/procs/legacy.so"
}

usd
{
 name usd1
 filename "/show/assets/set.usda"
}

volume
{
 name smoke
 filename "/cache/smoke.####.vdb"
}

photometric_light
{
 name ies1
 filename "/lights/spot.ies"
}

image
{
 name perobj
 filename "/tex/<attr:tex_name>.tx"
}

aiStandardSurface
{
 name aiStandardSurface1
 base_color file1
}
'''


@pytest.fixture
def show(tmp_path):
    root = tmp_path / "show"
    (root / "textures" / "wood").mkdir(parents=True)
    (root / "textures" / "wood" / "wood_diff.1001.tx").write_bytes(b"x")
    (root / "procs" / "trees").mkdir(parents=True)
    (root / "procs" / "trees" / "tree_v001.ass").write_text("")
    scenes = tmp_path / "scenes"
    (scenes / "sourceimages").mkdir(parents=True)
    (scenes / "sourceimages" / "leaf.exr").write_bytes(b"x")
    ass = scenes / "sh010.1001.ass"
    ass.write_text(ASS, encoding="utf-8")
    return ass, root


def read(path, env):
    return arnold_ass.read(str(path), ReadContext(env=env))


def refs_by_source(res):
    return {r.source: r for r in res.refs}


def test_file_parameters_kinds_outputs_and_search_paths(show):
    ass, root = show
    res = read(ass, {"SHOW_ROOT": str(root)})
    refs = refs_by_source(res)
    scene_dir = str(ass.parent).replace("\\", "/")
    assert set(refs) == {
        "defaultArnoldDriver@driver_exr.RGBA.filename", "file1.filename", "file2.filename",
        "/obj/geo1/shopnet/img_rel.filename", "tex_jp.filename", "standin1.filename", "oldstyle.dso",
        "usd1.filename", "smoke.filename", "ies1.filename", "perobj.filename"}
    out = refs["defaultArnoldDriver@driver_exr.RGBA.filename"]
    assert out.output and out.kind == "image" and out.value == "/renders/sh010/beauty.1001.exr"
    udim = refs["file1.filename"]
    # the UDIM tile lives under the first texture search path entry
    assert (udim.value, udim.kind, udim.base_dir) == ("wood/wood_diff.<udim>.tx", "texture", f"{root}/textures")
    # found under the second, relative entry (relative to the .ass folder)
    assert refs["/obj/geo1/shopnet/img_rel.filename"].base_dir == f"{scene_dir}/sourceimages"
    assert refs["file2.filename"].value == 'C:/Program Files/tex "quoted" name.exr'
    assert refs["tex_jp.filename"].value == "/show/テクスチャ/岩.tx"
    proc = refs["standin1.filename"]
    assert proc.kind == "standin" and proc.follow and proc.base_dir == f"{root}/procs"
    assert not refs["oldstyle.dso"].follow                      # a .so: nothing to read
    assert refs["usd1.filename"].follow and refs["usd1.filename"].kind == "usd"
    smoke = refs["smoke.filename"]
    assert smoke.kind == "volume" and smoke.sequence
    assert refs["ies1.filename"].kind == "ies"
    assert any(w.startswith("perobj.filename:") and "per-object" in w for w in res.warnings)


def test_relative_name_found_nowhere_uses_first_entry_and_warns(show, tmp_path):
    ass, root = show
    text = ASS.replace('"wood/wood_diff.<udim>.tx"', '"wood/missing.<udim>.tx"')
    ass.write_text(text, encoding="utf-8")
    res = read(ass, {"SHOW_ROOT": str(root)})
    ref = refs_by_source(res)["file1.filename"]
    assert ref.base_dir == f"{root}/textures"
    assert any(w.startswith("file1.filename: wood/missing.<udim>.tx not found on the search path") for w in res.warnings)


def test_unset_env_in_search_path_stays_visible(show):
    ass, _ = show
    res = read(ass, {})
    ref = refs_by_source(res)["file1.filename"]
    assert "${SHOW_ROOT}" in ref.base_dir


def test_gzip_compressed_and_truncated(show, tmp_path):
    ass, root = show
    gz = tmp_path / "sh010.ass.gz"
    gz.write_bytes(gzip.compress(ASS.encode("utf-8")))
    assert len(read(gz, {"SHOW_ROOT": str(root)}).refs) == 11
    cut = tmp_path / "cut.ass"
    data = ASS.encode("utf-8")
    cut.write_bytes(data[:data.index(b'override_nodes off')])
    res = read(cut, {"SHOW_ROOT": str(root)})
    assert "standin1.filename" in refs_by_source(res)
    assert any("truncated inside node procedural 'standin1'" in w for w in res.warnings)


def test_bad_input(tmp_path):
    binary = tmp_path / "x.ass"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(ScanError, match="not an Arnold .ass file"):
        read(binary, {})
    badgz = tmp_path / "y.ass"
    badgz.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    with pytest.raises(ScanError, match="y.ass"):
        read(badgz, {})
    with pytest.raises(ScanError, match="cannot read scene"):
        read(tmp_path / "missing.ass", {})


def test_block_boundaries_do_not_lose_nodes(show, monkeypatch):
    ass, root = show
    whole = [(r.source, r.value) for r in read(ass, {"SHOW_ROOT": str(root)}).refs]
    monkeypatch.setattr(arnold_ass, "_BLOCK", 7)
    assert [(r.source, r.value) for r in read(ass, {"SHOW_ROOT": str(root)}).refs] == whole


def test_searchpath_split():
    assert arnold_ass._split_searchpath("/a:/b::c") == ["/a", "/b", "c"]
    assert arnold_ass._split_searchpath("C:/tex:D:/more") == ["C:/tex", "D:/more"]
    assert arnold_ass._split_searchpath("C:/tex;//srv/share/tex") == ["C:/tex", "//srv/share/tex"]
