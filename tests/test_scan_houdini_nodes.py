"""Houdini node types studios render with, from the parameter table (houdini_parms.yaml): LOP
asset references followed into their USD, LOP light textures and IES profiles, and the output of
every ROP (mantra/karma/arnold/Redshift/usdrender/geometry/File Cache) so the download stage
brings each one back. Parameter names are Houdini's own (LOP light parameters encode USD
attribute names: inputs:texture:file is xn__inputstexturefile_r3ah)."""
from __future__ import annotations

from cloudsubmit.hosts.houdini import HoudiniHost
from cloudsubmit.scan import houdini_hip, scan_scene
from cloudsubmit.scan.houdini_parms import decode_parm_name
from cloudsubmit.scan.model import ReadContext
from support.hipwriter import HipWriter, Quoted
from support.hostfakes import FakeHou, _Node, installed


def read(path, env=None):
    return houdini_hip.read(str(path), ReadContext(env=env or {}))


def by_source(result):
    return {r.source: r for r in result.refs}


def solaris_scene() -> HipWriter:
    w = HipWriter()
    w.node("stage/assetreference1", "assetreference", {"primpath": "/$OS", "filepath": "$HIP/usd/chair.usda"})
    w.node("stage/domelight1", "domelight::3.0", {"primpath": "/lights/$OS",
                                                  "xn__inputstexturefile_control_shbh": Quoted("set"),
                                                  "xn__inputstexturefile_r3ah": "$JOB/hdri/studio.exr"})
    w.node("stage/light1", "light::2.0", {"lighttype": Quoted("rect"),
                                          "xn__inputstexturefile_r3ah": "$HIP/tex/softbox.png",
                                          "xn__inputsshapingiesfile_control_ombhd": Quoted("set"),
                                          "xn__inputsshapingiesfile_n8ahd": "$JOB/ies/spot_30deg.ies"})
    w.node("stage/materiallibrary1/usduvtexture1", "usduvtexture::2.0", {"file": "$HIP/tex/oak.<UDIM>.png",
                                                                       "wrapS": Quoted("repeat")})
    w.node("stage/renderproduct1", "renderproduct", {"productName": "$HIP/render/husk/$HIPNAME.$F4.exr",
                                                     "productType": Quoted("raster")})
    w.node("stage/usdrender_rop1", "usdrender_rop", {"outputimage": "$HIP/render/lop/$OS.$F4.exr"})
    w.node("out/karma1", "karma", {"picture": "$HIP/render/karma/$HIPNAME.$OS.$F4.exr"})
    w.node("out/usdrender1", "usdrender", {"outputimage": "$HIP/render/usdrender/$OS.$F4.exr"})
    w.node("out/mantra1", "ifd", {"vm_picture": "$HIP/render/mantra/$OS.$F4.exr", "vm_numaux": 2,
                                  "vm_variable_plane1": "N", "vm_usefile_plane1": "on",
                                  "vm_filename_plane1": "$HIP/render/mantra_N/$OS.N.$F4.exr",
                                  "vm_variable_plane2": "Pz", "vm_usefile_plane2": "off",
                                  "vm_filename_plane2": "$HIP/render/unused/$OS.Pz.$F4.exr"})
    w.node("out/arnold1", "arnold", {"ar_picture": "$HIP/render/arnold/$OS.$F4.exr", "ar_aovs": 2,
                                     "ar_aov_separate1": "on", "ar_aov_separate_file1": "$HIP/render/arnold_diff/$OS.$F4.exr",
                                     "ar_aov_separate2": "off", "ar_aov_separate_file2": "$HIP/render/unused2/$OS.$F4.exr"})
    w.node("out/Redshift_ROP1", "Redshift_ROP", {"RS_outputFileNamePrefix": "$HIP/render/rs/$HIPNAME.$OS.$F4.exr",
                                                 "RS_aov": 1, "RS_aovEnable_1": "on",
                                                 "RS_aovCustomPrefix_1": "$HIP/render/rs_aov/$OS.$AOV.$F4.exr"})
    w.node("out/geometry1", "geometry", {"sopoutput": "$HIP/geo/$HIPNAME.$OS.$F4.bgeo.sc"})
    w.node("obj/sim/filecache_write", "filecache::2.0", {"loadfromdisk": "off", "file": "$HIP/cache/sim.$F4.bgeo.sc"})
    w.node("obj/sim/filecache_read", "filecache::2.0", {"loadfromdisk": "on", "file": "$HIP/cache/read.$F4.bgeo.sc"})
    return w


def test_lop_lights_and_asset_reference_inputs(tmp_path):
    refs = by_source(read(solaris_scene().write(tmp_path / "lit.hip")))
    asset = refs["/stage/assetreference1.filepath"]
    assert (asset.kind, asset.follow, asset.output) == ("usd", True, False)
    dome = refs["/stage/domelight1.xn__inputstexturefile_r3ah"]
    assert (dome.value, dome.kind) == ("$JOB/hdri/studio.exr", "texture")
    assert refs["/stage/light1.xn__inputstexturefile_r3ah"].kind == "texture"
    ies = refs["/stage/light1.xn__inputsshapingiesfile_n8ahd"]
    assert (ies.value, ies.kind) == ("$JOB/ies/spot_30deg.ies", "ies")
    uv = refs["/stage/materiallibrary1/usduvtexture1.file"]
    assert (uv.value, uv.kind) == ("$HIP/tex/oak.<UDIM>.png", "texture")
    for control in ("/stage/domelight1.xn__inputstexturefile_control_shbh", "/stage/light1.xn__inputsshapingiesfile_control_ombhd"):
        assert control not in refs


def test_every_rop_output_and_only_enabled_aovs(tmp_path):
    refs = by_source(read(solaris_scene().write(tmp_path / "lit.hip")))
    outputs = {s: r.value for s, r in refs.items() if r.output}
    assert outputs == {
        "/stage/renderproduct1.productName": "$HIP/render/husk/$HIPNAME.$F4.exr",
        "/stage/usdrender_rop1.outputimage": "$HIP/render/lop/usdrender_rop1.$F4.exr",
        "/out/karma1.picture": "$HIP/render/karma/$HIPNAME.karma1.$F4.exr",
        "/out/usdrender1.outputimage": "$HIP/render/usdrender/usdrender1.$F4.exr",
        "/out/mantra1.vm_picture": "$HIP/render/mantra/mantra1.$F4.exr",
        "/out/mantra1.vm_filename_plane1": "$HIP/render/mantra_N/mantra1.N.$F4.exr",
        "/out/arnold1.ar_picture": "$HIP/render/arnold/arnold1.$F4.exr",
        "/out/arnold1.ar_aov_separate_file1": "$HIP/render/arnold_diff/arnold1.$F4.exr",
        "/out/Redshift_ROP1.RS_outputFileNamePrefix": "$HIP/render/rs/$HIPNAME.Redshift_ROP1.$F4.exr",
        "/out/Redshift_ROP1.RS_aovCustomPrefix_1": "$HIP/render/rs_aov/Redshift_ROP1.$AOV.$F4.exr",
        "/out/geometry1.sopoutput": "$HIP/geo/$HIPNAME.geometry1.$F4.bgeo.sc",
        "/obj/sim/filecache_write.file": "$HIP/cache/sim.$F4.bgeo.sc",     # cooks upstream and writes
    }
    read_back = refs["/obj/sim/filecache_read.file"]
    assert not read_back.output and read_back.kind == "cache"


def test_scan_follows_the_asset_reference_and_lists_every_output_folder(tmp_path, usd_core):
    (tmp_path / "usd" / "tex").mkdir(parents=True)
    (tmp_path / "usd" / "chair.usda").write_text(
        '#usda 1.0\ndef Xform "chair"\n{\n    def Shader "wood"\n    {\n        uniform token info:id = "UsdUVTexture"\n'
        '        asset inputs:file = @./tex/oak.png@\n    }\n}\n', encoding="utf-8")
    (tmp_path / "usd" / "tex" / "oak.png").write_bytes(b"png")
    hip = solaris_scene().write(tmp_path / "lit.hip")
    deps = scan_scene(str(hip), frames=[1001], env={"JOB": str(tmp_path / "job")})
    t = str(tmp_path).replace("\\", "/")
    got = {d.path: (d.exists, d.kind) for d in deps.dependencies}
    assert got[f"{t}/usd/chair.usda"] == (True, "usd")
    assert got[f"{t}/usd/tex/oak.png"] == (True, "texture")          # inside the referenced asset
    assert got[f"{t}/job/ies/spot_30deg.ies"] == (False, "ies")
    folders = {o.path.rsplit("/", 1)[0] for o in deps.outputs}
    assert folders == {f"{t}/render/{d}" for d in ("husk", "lop", "karma", "usdrender", "mantra", "mantra_N", "arnold",
                                                   "arnold_diff", "rs", "rs_aov")} | {f"{t}/geo", f"{t}/cache"}


def test_live_houdini_session_applies_the_same_enabled_by_rules():
    """In a Houdini session the table is applied to ``hou.fileReferences()``: a File Cache that
    loads from disk reads its file, one that does not writes it; an AOV file is an output."""
    hou = FakeHou("/shows/fx/fx_sim.hip")
    read_node = _Node("/obj/sim/cache_read", "filecache::2.0", "Sop", {"loadfromdisk": "on", "file": "$HIP/c/r.$F4.bgeo.sc"})
    write_node = _Node("/obj/sim/cache_write", "filecache::2.0", "Sop", {"loadfromdisk": "off", "file": "$HIP/c/w.$F4.bgeo.sc"})
    rop = _Node("/out/arnold1", "arnold", "Driver", {"ar_aov_separate1": "1", "ar_aov_separate_file1": "$HIP/r/diff.$F4.exr"})
    hou._refs = [(read_node.parm("file"), "$HIP/c/r.$F4.bgeo.sc"), (write_node.parm("file"), "$HIP/c/w.$F4.bgeo.sc"),
                 (rop.parm("ar_aov_separate_file1"), "$HIP/r/diff.$F4.exr")]
    with installed({"hou": hou}):
        refs = {r.source: r for r in HoudiniHost().file_references()}
    assert not refs["/obj/sim/cache_read.file"].output and refs["/obj/sim/cache_read.file"].kind == "cache"
    assert refs["/obj/sim/cache_write.file"].output
    aov = refs["/out/arnold1.ar_aov_separate_file1"]
    assert aov.output and aov.kind == "image"


# Parameter names Houdini gives USD attributes on LOPs, as they appear in public scripts and
# generated bindings for Houdini's LOP lights, render vars and light parameters
REAL_ENCODED = {
    "xn__inputstexturefile_r3ah": "inputs:texture:file",
    "xn__inputsshapingiesfile_n8ahd": "inputs:shaping:ies:file",
    "xn__inputstexturefile_control_shbh": "inputs:texture:file_control",
    "xn__houdiniinviewermenu_16a": "houdini:inviewermenu",
    "xn__inputsnormalize_i0a": "inputs:normalize",
    "xn__driverparametersaovname_jebkd": "driver:parameters:aov:name",
    "xn__inputsenableColorTemperature_omb": "inputs:enableColorTemperature",
    "xn__inputsshapingiesangleScale_control_gwbhd": "inputs:shaping:ies:angleScale_control",
}


def encode(attr: str) -> str:
    """Houdini's encoding (shift each ':' up by 0x7F, punycode, xn__ prefix), checked against
    REAL_ENCODED before it is used to name other attributes."""
    shifted = "".join(chr(ord(c) + 0x7F) if c == ":" else c for c in attr)
    basic, _, code = shifted.encode("punycode").decode("ascii").rpartition("-")
    return f"xn__{basic}_{code}"


def test_lop_parameter_names_decode_to_their_usd_attributes():
    for name, attr in REAL_ENCODED.items():
        assert decode_parm_name(name) == attr
        assert encode(attr) == name
    for plain in ("file", "xn__", "xn__nounderscore", "xn__bad_!!", "vm_picture"):
        assert decode_parm_name(plain) == plain


def test_any_lop_file_attribute_is_a_file_control_menus_are_not(tmp_path):
    w = HipWriter()
    w.node("stage/editproperties1", "editproperties", {
        encode("inputs:file"): "$HIP/tex/label.png",                   # a UsdUVTexture's file set on a LOP
        encode("inputs:filename"): "$HIP/tex/arnold_image.tx",        # an Arnold image shader's
        encode("inputs:file_control"): Quoted("set"),
        encode("inputs:scale"): [1, 1, 1, 1]})
    refs = by_source(read(w.write(tmp_path / "props.hip")))
    assert {s.rsplit(".", 1)[1]: (r.value, r.kind) for s, r in refs.items()} == {
        encode("inputs:file"): ("$HIP/tex/label.png", "texture"),
        encode("inputs:filename"): ("$HIP/tex/arnold_image.tx", "texture")}
