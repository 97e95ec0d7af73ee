"""The Houdini reader on real .hip files from a public project and on scenes written by
tests/support/hipwriter.py in Houdini's own record formats."""
from __future__ import annotations

import pytest

from cloudsubmit.config import load_config
from cloudsubmit.errors import ConfigError, ScanError
from cloudsubmit.scan import houdini_hip
from cloudsubmit.scan.houdini_expr import ExprScope, Unresolved, evaluate
from cloudsubmit.scan.houdini_text import parse_channels, parse_parms
from cloudsubmit.scan.model import ReadContext
from support.hipwriter import HipWriter, limited_record, odc_record


def read(path, env=None, config=None):
    return houdini_hip.read(str(path), ReadContext(config=config, env=env or {}))


def by_source(result):
    return {r.source: r for r in result.refs}


# --- real scenes --------------------------------------------------------------------------------

def test_real_parameters_hip_mantra_output_from_chn_expression(real_scenes):
    res = read(real_scenes / "houdini_toolbox_parameters.hip")
    refs = by_source(res)
    # vm_picture is driven by `"$HIP/render/$HIPNAME.$OS.$F4.exr"` in out/mantra1.chn, not by the
    # value saved for frame 1 in .parm
    pic = refs.pop("/out/mantra1.vm_picture")
    assert pic.value == "$HIP/render/$HIPNAME.mantra1.$F4.exr"
    assert pic.output and pic.sequence and pic.kind == "image" and pic.node_type == "ifd"
    # the font SOPs' `file` is a font name, the topnet's temp dir and the deep outputs are off
    assert refs == {}
    assert res.warnings == []
    info = res.info
    assert (info.frame_start, info.frame_end) == (1.0, 240.0)
    assert info.rops == ["/out/mantra1"] and info.renderer == "mantra"
    assert info.variables["HIP"] == str(real_scenes).replace("\\", "/")
    assert info.variables["HIPNAME"] == "houdini_toolbox_parameters"
    assert info.variables["JOB"] == "/home/graham/Houdini-Toolbox"     # as saved, no JOB in env


def test_real_pointcloud_hip_has_no_file_dependencies(real_scenes):
    res = read(real_scenes / "houdini_toolbox_pointcloud.hip", env={"JOB": "/jobs/show"})
    # every .OPfallbacks library lives in /opt/sidefx/hfs18.5.732: nothing to upload
    assert res.refs == [] and res.warnings == []
    assert res.info.variables["JOB"] == "/jobs/show"
    assert res.info.rops == [] and (res.info.frame_start, res.info.frame_end) == (1.0, 240.0)


def test_real_scene_reencoded_as_hipnc_reads_the_same(real_scenes, tmp_path):
    from cloudsubmit.scan.cpio import read_archive

    src = real_scenes / "houdini_toolbox_parameters.hip"
    arc = read_archive(src.read_bytes(), str(src))
    nc = tmp_path / "houdini_toolbox_parameters.hipnc"
    nc.write_bytes(b"".join(limited_record(e.name, e.body) for e in arc.entries)
                   + limited_record("NON_COMMERCIAL_FILE!!!", b""))
    plain, limited = read(src), read(nc)
    assert len(arc.entries) == 94 and arc.complete
    assert [(r.source, r.value) for r in limited.refs] == [(r.source, r.value) for r in plain.refs]
    assert limited.warnings == [f"{nc}: Apprentice (non-commercial) .hipnc scene, read from its obfuscated records; "
                                "render nodes need a licence that accepts this file type"]


# --- written scenes -----------------------------------------------------------------------------

def shot_scene() -> HipWriter:
    w = HipWriter()
    w.node("obj/geo1", "geo", {"tx": 0})
    w.node("obj/geo1/file1", "file", {"file": "$HIP/geo/rock.$F4.bgeo.sc", "missingframe": "error"})
    w.node("obj/geo1/alembic1", "alembic", {"fileName": "$JOB/cache/anim v2.abc"})
    w.node("obj/geo1/font1", "font", {"file": "Lato Bold", "text": "Frame: $F\n$HIP\nrender"})
    w.node("obj/geo1/file_old", "file", {"file": "$HIP/geo/old.bgeo"}, bypass=True)
    w.node("obj/geo1/file_locked", "file", {"file": "$HIP/geo/locked.bgeo"}, lock=True)
    w.node("obj/geo1/file_jp", "file", {"file": "$HIP/geo/岩/石.bgeo.sc"})
    w.node("obj/geo1/file_op", "file", {"file": "op:/obj/geo2/OUT"})
    w.node("obj/geo1/file_fresh", "file", {"file": "default.bgeo"})
    w.node("obj/geo1/cache_load", "filecache::2.0", {"file": "$HIP/cache/sim.$F4.bgeo.sc", "loadfromdisk": "on"})
    w.node("obj/geo1/cache_cook", "filecache::2.0", {"file": "$HIP/cache/wip.$F4.bgeo.sc", "loadfromdisk": "off"})
    w.node("mat/principledshader1", "principledshader::2.0",
           {"basecolor_texture": "$HIP/tex/wood.<UDIM>.rat", "rough_texture": "", "basecolor": [1, 1, 1]})
    w.node("obj/envlight1", "envlight", {"env_map": "$JOB/hdri/sky.exr"})
    w.node("obj/cam1", "cam", {"vm_background": ""})
    w.node("out/mantra1", "ifd", {"vm_picture": ("vm_picture", "/old/render/shot.mantra1.1001.exr"),
                                  "out_path": "$HIP/render/$SHOT", "vm_deepresolver": "null",
                                  "vm_dcmfilename": "$HIP/dcm.rat", "camera": "/obj/cam1"},
           chn={"vm_picture": 'chs("out_path") + "/beauty.$OS." + padzero(4, $F) + ".exr"'})
    w.node("out/preview", "ifd", {"vm_picture": "ip"})
    w.node("out/deep", "ifd", {"vm_picture": "$HIP/render/deep.`padzero(4, $F)`.exr",
                               "vm_deepresolver": "camera", "vm_dcmfilename": "$HIP/render/deep.$F4.dcm.exr"})
    w.node("out/old_rop", "ifd", {"vm_picture": "$HIP/render/old.$F4.exr"}, bypass=True)
    w.node("stage/sublayer1", "sublayer", {"filepath1": "$JOB/usd/layout.usda", "filepath2": ""})
    w.fallback("Driver/ifd", "/opt/hfs19.5.605/houdini/otls/OPlibDriver.hda", "otls/OPlibDriver.hda")
    w.fallback("Sop/studio::scatter::1.0", "/studio/otls/studio_scatter.hda", "otls/studio_scatter.hda")
    w.fallback("Sop/localtool", "otls/localtool.hda")
    w.node("obj/geo1/studio_scatter1", "studio::scatter::1.0", {"seed": 3})
    return w


@pytest.fixture
def shot_hip(tmp_path):
    return shot_scene().write(tmp_path / "sh010_fx_v003.hip")


def test_file_alembic_texture_envmap_usd_inputs(shot_hip):
    refs = by_source(read(shot_hip))
    f = refs["/obj/geo1/file1.file"]
    assert (f.value, f.kind, f.node_type, f.sequence, f.output) == (
        "$HIP/geo/rock.$F4.bgeo.sc", "geometry", "file", True, False)
    assert f.base_dir == str(shot_hip.parent).replace("\\", "/")
    assert refs["/obj/geo1/alembic1.fileName"].value == "$JOB/cache/anim v2.abc"
    assert refs["/obj/geo1/alembic1.fileName"].kind == "alembic"
    tex = refs["/mat/principledshader1.basecolor_texture"]
    assert (tex.value, tex.kind, tex.sequence) == ("$HIP/tex/wood.<UDIM>.rat", "texture", False)
    assert refs["/obj/envlight1.env_map"].kind == "texture"
    usd = refs["/stage/sublayer1.filepath1"]
    assert usd.kind == "usd" and usd.follow and not usd.output
    assert refs["/obj/geo1/file_jp.file"].value == "$HIP/geo/岩/石.bgeo.sc"
    assert refs["/obj/geo1/cache_load.file"].kind == "cache"      # read from disk: needed
    assert refs["/obj/geo1/cache_cook.file"].output                # cooks its inputs and writes the cache
    # not files: font name, op: reference, empty parms, mantra's viewer device
    for src in ("/obj/geo1/font1.file", "/obj/geo1/file_op.file", "/obj/geo1/file_fresh.file",
                "/mat/principledshader1.rough_texture",
                "/stage/sublayer1.filepath2", "/obj/cam1.vm_background", "/out/preview.vm_picture"):
        assert src not in refs


def test_outputs_expressions_and_enabled_by(shot_hip):
    refs = by_source(read(shot_hip))
    pic = refs["/out/mantra1.vm_picture"]
    assert pic.output and pic.sequence
    assert pic.value == "$HIP/render/$SHOT/beauty.mantra1.$F4.exr"      # chs + $OS + padzero
    assert "/out/mantra1.vm_dcmfilename" not in refs                      # deep resolver "null"
    assert refs["/out/deep.vm_picture"].value == "$HIP/render/deep.$F4.exr"   # backtick padzero
    assert refs["/out/deep.vm_dcmfilename"].output
    assert all(r.output for s, r in refs.items() if s.startswith("/out/"))


def test_bypassed_and_locked_nodes_left_out_with_a_warning(shot_hip):
    res = read(shot_hip)
    refs = by_source(res)
    assert "/obj/geo1/file_old.file" not in refs and "/out/old_rop.vm_picture" not in refs
    assert "/obj/geo1/file_locked.file" not in refs
    assert any(w.startswith("/obj/geo1/file_old.file: node is bypassed") for w in res.warnings)
    assert any(w.startswith("/out/old_rop.vm_picture: node is bypassed") for w in res.warnings)
    assert any(w.startswith("/obj/geo1/file_locked.file: node is locked") for w in res.warnings)


def test_variables_scene_info_and_job_from_env(shot_hip):
    info = read(shot_hip, env={"JOB": "/jobs/showA"}).info
    v = info.variables
    assert v["HIP"] == str(shot_hip.parent).replace("\\", "/")     # where the file is now
    assert v["HIPNAME"] == "sh010_fx_v003" and v["HIPFILE"].endswith("/sh010_fx_v003.hip")
    assert v["JOB"] == "/jobs/showA" and v["SHOT"] == "sh010"
    assert (info.frame_start, info.frame_end) == (1001.0, 1100.0)
    # File Cache SOPs are output drivers too (a farm job can run them)
    assert info.rops == ["/obj/geo1/cache_cook", "/obj/geo1/cache_load",
                         "/out/deep", "/out/mantra1", "/out/old_rop", "/out/preview"]
    assert info.cameras == ["/obj/cam1"] and info.renderer == "mantra"


def test_hda_libraries_outside_hfs(shot_hip):
    hdas = [r for r in read(shot_hip).refs if r.kind == "hda"]
    by_value = {r.value: r for r in hdas}
    assert set(by_value) == {"/studio/otls/studio_scatter.hda", "otls/localtool.hda"}
    scatter = by_value["/studio/otls/studio_scatter.hda"]
    assert scatter.source == "/obj/geo1/studio_scatter1 (Sop/studio::scatter::1.0 definition)"
    assert not scatter.optional
    assert by_value["otls/localtool.hda"].optional          # only where $HIP/otls holds it


def test_studio_hda_file_parms_from_its_definition(tmp_path):
    w = HipWriter()
    w.fallback("Sop/studio::cache::2.0", "/studio/otls/studio_cache.hda")
    w.fallback("Driver/ifd", "/opt/hfs19.5.605/houdini/otls/OPlibDriver.hda")
    w.definition("studio::cache::2.0", [("cachefile", "geometry", "read_and_write"), ("bakeout", "file", "write"),
                                        ("lut", "image", ""), ("layer#", "file", "read"), ("label", "string", "")])
    w.definition("ifd", [("prerender", "file", ""), ("vm_tmpsharedstorage", "file", "")])
    w.node("obj/geo1/cache1", "studio::cache::2.0", {
        "cachefile": "$HIP/cache/sim.$F4.bgeo.sc", "bakeout": "$HIP/bake/out.$F4.bgeo.sc", "lut": "$JOB/luts/a.cube",
        "layer1": "$HIP/a.bgeo", "layer2": "$HIP/b.bgeo", "label": "hello"})
    w.node("out/mantra1", "ifd", {"prerender": "/scripts/pre.py", "vm_tmpsharedstorage": "$HIP/ifds/storage",
                                  "vm_picture": "$HIP/r.$F4.exr"})
    refs = by_source(read(w.write(tmp_path / "hda.hip")))
    cache = refs["/obj/geo1/cache1.cachefile"]
    assert cache.kind == "geometry" and not cache.output and cache.sequence
    assert refs["/obj/geo1/cache1.bakeout"].output
    assert refs["/obj/geo1/cache1.lut"].kind == "texture"
    assert refs["/obj/geo1/cache1.layer2"].value == "$HIP/b.bgeo"
    assert "/obj/geo1/cache1.label" not in refs
    # built-in types keep to the table even though their DialogScripts type scripts as files
    assert "/out/mantra1.prerender" not in refs and "/out/mantra1.vm_tmpsharedstorage" not in refs
    assert refs["/out/mantra1.vm_picture"].output


def test_python_and_unknown_expressions_fall_back_to_saved_value_with_warning(tmp_path):
    w = HipWriter()
    w.node("out/py", "ifd", {"vm_picture": ("vm_picture", "/saved/py.0001.exr")},
           chn={"vm_picture": "hou.pwd().name()"}, chn_language="python")
    w.node("out/pynode", "ifd", {"vm_picture": ("vm_picture", "/saved/pynode.exr")},
           chn={"vm_picture": "'x'"}, exprlang="python")
    w.node("out/fn", "ifd", {"vm_picture": ("vm_picture", "/saved/fn.exr")},
           chn={"vm_picture": 'opfullpath("..") + ".exr"'})
    w.node("obj/geo1/file1", "file", {"file": "$HIP/geo/`opfullpath(\".\")`.bgeo"})
    w.node("out/nochn", "ifd", {"vm_picture": ("vm_picture", "/saved/nochn.exr")})
    res = read(w.write(tmp_path / "expr.hip"))
    assert by_source(res)["/out/nochn.vm_picture"].value == "/saved/nochn.exr"
    assert any(w.startswith("/out/nochn.vm_picture: driven by channel 'vm_picture', missing") for w in res.warnings)
    refs = by_source(res)
    assert refs["/out/py.vm_picture"].value == "/saved/py.0001.exr"
    assert refs["/out/pynode.vm_picture"].value == "/saved/pynode.exr"
    assert refs["/out/fn.vm_picture"].value == "/saved/fn.exr"
    # a backtick expression that cannot be evaluated offline gives no path at all: no half-evaluated file
    assert "/obj/geo1/file1.file" not in refs
    for src in ("/out/py.vm_picture", "/out/pynode.vm_picture", "/out/fn.vm_picture", "/obj/geo1/file1.file"):
        assert sum(w.startswith(src + ":") for w in res.warnings) == 1, src
    assert any("opfullpath" in w for w in res.warnings)


def test_studio_extra_parms_from_config(tmp_path):
    w = HipWriter()
    w.node("obj/geo1/loader1", "studio::loader", {"cache_path": "$JOB/cache/a.vdb", "bake_to": "$HIP/out.vdb"})
    path = w.write(tmp_path / "extra.hip")
    assert read(path).refs == []
    cfg = load_config(overrides={"scan.extra_houdini_parms": [
        {"parm": "cache_path", "kind": "volume"}, {"parm": "bake_to", "kind": "volume", "output": True}]}, env={})
    refs = by_source(read(path, config=cfg))
    assert refs["/obj/geo1/loader1.cache_path"].kind == "volume" and not refs["/obj/geo1/loader1.cache_path"].output
    assert refs["/obj/geo1/loader1.bake_to"].output
    bad = load_config(overrides={"scan.extra_houdini_parms": [{"parm": "x", "kinds": "y"}]}, env={})
    with pytest.raises(ConfigError, match="unknown field kinds"):
        read(path, config=bad)


# --- damaged and licence-limited files ----------------------------------------------------------

def test_truncated_hip_gives_what_it_holds(tmp_path, shot_hip):
    data = shot_hip.read_bytes()
    cut = data.index(b"obj/geo1/alembic1.def")      # file1 complete, alembic1 cut off mid-header
    part = tmp_path / "cut.hip"
    part.write_bytes(data[:cut + 10])
    res = read(part)
    refs = by_source(res)
    assert "/obj/geo1/file1.file" in refs and "/obj/geo1/alembic1.fileName" not in refs
    assert any("truncated" in w and str(part) in w for w in res.warnings)


@pytest.mark.parametrize("content", [b"", b"not a scene at all", b"0707", b"070707" + b"x" * 100])
def test_garbage_raises_scan_error_naming_the_file(tmp_path, content):
    bad = tmp_path / "bad.hip"
    bad.write_bytes(content)
    with pytest.raises(ScanError) as exc:
        read(bad)
    assert str(bad) in str(exc.value) and exc.value.exit_code == 2


def test_unreadable_path_is_a_scan_error(tmp_path):
    with pytest.raises(ScanError, match="cannot read scene"):
        read(tmp_path / "nope.hip")


@pytest.mark.parametrize("flavour", ["hipnc", "hiplc"])
def test_licence_limited_scene_read_like_hip(tmp_path, flavour):
    w = shot_scene()
    plain = read(w.write(tmp_path / "a.hip"))
    limited = read(w.write(tmp_path / f"a.{flavour}"))
    assert [(r.source, r.value) for r in limited.refs] == [(r.source, r.value) for r in plain.refs]
    assert any(f".{flavour} scene" in x for x in limited.warnings)
    assert not any("could not be decoded" in x for x in limited.warnings)


def test_hipnc_with_undecodable_sizes_splits_at_record_marks(tmp_path):
    data = bytearray(shot_scene().data("hipnc"))
    # damage the masked size of every record: the reader must fall back to splitting at HouNC marks
    pos = 0
    while True:
        pos = data.find(b"HouNC\x1a10336", pos)
        if pos < 0:
            break
        data[pos + 25:pos + 34] = b"fffffffff"
        pos += 1
    path = tmp_path / "damaged.hipnc"
    path.write_bytes(bytes(data))
    res = read(path)
    assert by_source(res)["/obj/geo1/file1.file"].value == "$HIP/geo/rock.$F4.bgeo.sc"
    assert any("could not be decoded" in w for w in res.warnings)


def test_unreadable_parameter_records_are_reported(tmp_path):
    body = odc_record("obj/geo1/file1.init", b"type = file\n") + \
        odc_record("obj/geo1/file1.parm", bytes(range(256)) * 4) + odc_record("TRAILER!!!", b"")
    path = tmp_path / "enc.hipnc.hip"
    path.write_bytes(body)
    res = read(path)
    assert res.refs == []
    assert any("parameters of 1 node(s) could not be read" in w and "/obj/geo1/file1" in w for w in res.warnings)


def test_missing_trailer_is_reported(tmp_path):
    body = odc_record("obj/geo1/file1.init", b"type = file\n") + \
        odc_record("obj/geo1/file1.parm", b'{\nfile\t[ 0\tlocks=0 ]\t(\t"/a/b.bgeo"\t)\n}\n')
    path = tmp_path / "notrailer.hip"
    path.write_bytes(body)
    res = read(path)
    assert [r.value for r in res.refs] == ["/a/b.bgeo"]
    assert any("no end-of-archive record" in w for w in res.warnings)


# --- the text formats ---------------------------------------------------------------------------

def test_parm_format_components_channels_and_escapes():
    text = ('{\nversion 0.8\nt\t[ 0\tlocks=0 ]\t(\t0\t1.5\t-2\t)\n'
            'f\t[ 0\tlocks=0\tautoscope=0 ]\t(\t[ f1\t1 ] \t[ f2\t240 ] \t1\t)\n'
            'text\t[ 0\tlocks=0 ]\t(\t"say \\"hi\\" (now)\n$HIP"\t)\n'
            'pdg_workingdir\t[ 0\tlocks=0 ]\t(\t$HIP\t)\nsepparm\t[ 0\tlocks=0 ]\t(\t)\n}\n')
    p = parse_parms(text)
    assert [c.value for c in p["t"]] == ["0", "1.5", "-2"]
    assert [(c.channel, c.value) for c in p["f"]] == [("f1", "1"), ("f2", "240"), ("", "1")]
    assert p["text"][0].value == 'say "hi" (now)\n$HIP'
    assert p["pdg_workingdir"][0].value == "$HIP" and p["sepparm"] == []


def test_chn_expressions_quoted_and_bare():
    text = ('{\n    channel f1 {\n      segment { length = 0 value = 1 1 expr = $FSTART }\n    }\n'
            '    channel vm_picture {\n      defaultString = \\"/x.exr\\"\n'
            '      segment { options = {\t autoslope  ai ao }\n\n\t length = 0 expr = \\"$HIP/a b.$F4.exr\\" }\n'
            '    }\n    channel other {\n      segment { length = 0 expr = "ch(\\"../tx\\") + 1" }\n    }\n  }\n')
    ch = parse_channels(text)
    assert ch["f1"].exprs == ["$FSTART"]
    assert ch["vm_picture"].exprs == ['"$HIP/a b.$F4.exr"']
    assert ch["other"].exprs == ['ch("../tx") + 1']


def test_expression_evaluator():
    scope = ExprScope("rop1", lambda ref: {"../path": "/show/x"}.get(ref))
    assert evaluate('"$HIP/r/$HIPNAME.$OS.$F4.exr"', scope) == "$HIP/r/$HIPNAME.$OS.$F4.exr"
    assert evaluate('chs("../path") + "/" + opname(".") + "." + padzero(3, $F) + ".exr"', scope) == \
        "/show/x/rop1.$F3.exr"
    assert evaluate("padzero(4, 7)", scope) == "0007"
    assert evaluate('strcat("a", "b")', scope) == "ab"
    for bad in ('ch("tx")', 'chs("../nope")', '"a" "b"', "1 +", "$HIP/x"):
        with pytest.raises(Unresolved):
            evaluate(bad, scope)


# --- through the scanner: the .hip, the USD layer and the .ass it names, files on disk ----------

def test_shot_scan_end_to_end(tmp_path, cli, usd_core):
    import json

    from cloudsubmit.scan import scan_scene

    shot, job = tmp_path / "shot", tmp_path / "job"
    for d in ("geo", "otls", "usd", "procs"):
        (shot / d).mkdir(parents=True)
    (job / "tex").mkdir(parents=True)
    for f in range(1001, 1006):
        (shot / "geo" / f"rock.{f:04d}.bgeo.sc").write_bytes(b"g" * f)
    (shot / "otls" / "localtool.hda").write_bytes(b"hda")
    (job / "tex" / "bark.1001.tx").write_bytes(b"t")
    (shot / "usd" / "layout.usda").write_text('#usda 1.0\ndef "W"\n{\n    asset tex = @../../job/tex/bark.<UDIM>.tx@\n}\n')
    (shot / "procs" / "tree.ass").write_text('image\n{\n name leaf\n filename "[JOB]/tex/leaf.tx"\n}\n')
    w = HipWriter()
    w.node("obj/geo1/file1", "file", {"file": "$HIP/geo/rock.$F4.bgeo.sc"})
    w.node("obj/geo1/alembic1", "alembic", {"fileName": "$JOB/cache/missing.abc"})
    w.node("stage/sublayer1", "sublayer", {"filepath1": "$HIP/usd/layout.usda"})
    w.node("obj/proc1", "arnold_procedural", {"ar_filename": "$HIP/procs/tree.ass"})
    w.node("out/mantra1", "ifd", {"vm_picture": "$HIP/render/$HIPNAME.$OS.$F4.exr"})
    w.fallback("Sop/localtool", "otls/localtool.hda")
    hip = w.write(shot / "sh010.hip")
    env = {"JOB": str(job)}
    deps = scan_scene(str(hip), frames=[1001, 1002, 1003], env=env)
    got = {d.path: (d.exists, d.kind, d.source) for d in deps.dependencies}
    s, j = str(shot).replace("\\", "/"), str(job).replace("\\", "/")
    assert got == {
        f"{s}/sh010.hip": (True, "scene", "scene"),
        **{f"{s}/geo/rock.{f}.bgeo.sc": (True, "geometry", "/obj/geo1/file1.file") for f in (1001, 1002, 1003)},
        f"{j}/cache/missing.abc": (False, "alembic", "/obj/geo1/alembic1.fileName"),
        f"{s}/usd/layout.usda": (True, "usd", "/stage/sublayer1.filepath1"),
        f"{j}/tex/bark.1001.tx": (True, "texture", f"{s}/usd/layout.usda:/W.tex"),
        f"{s}/procs/tree.ass": (True, "standin", "/obj/proc1.ar_filename"),
        f"{j}/tex/leaf.tx": (False, "texture", "leaf.filename"),
        f"{s}/otls/localtool.hda": (True, "hda", "Sop/localtool definition"),
    }
    assert [o.path for o in deps.outputs] == [f"{s}/render/sh010.mantra1.$F4.exr"]
    out = cli("scan", str(hip), "--frames", "1001-1003", "--json", env=env)
    assert out.returncode == 1, out.stderr          # missing.abc and leaf.tx are missing
    data = json.loads(out.stdout)
    assert {d["path"] for d in data["dependencies"] if not d["exists"]} == {f"{j}/cache/missing.abc", f"{j}/tex/leaf.tx"}
