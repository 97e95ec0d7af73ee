"""Houdini values as Houdini 20 saves them: bare words with backtick expressions and escaped
quotes (`chs(\\"../../x\\")`), evaluated offline where the scene holds the answer, and a warning
naming node and parameter, never a fragment reported as a file, where it does not."""
from __future__ import annotations

import pytest

from cloudsubmit.scan import houdini_hip, scan_scene
from cloudsubmit.scan.houdini_text import parse_parms
from cloudsubmit.scan.model import IncompleteScene, ReadContext
from support.hipwriter import HipWriter, Quoted, parm_text

# Two lines exactly as Houdini wrote them in a COP File node (sideeffects/SideFXLabs,
# otls/3d_facebook_image.hda/.../Contents.dir/Contents.mime, see tests/fixtures/real/houdini_usd/)
REAL_COP_FILE = (
    '{\nversion 0.8\nstdswitcher\t[ 0\tlocks=0 ]\t(\t0\t0\t0\t0\t)\n'
    'filename\t[ 0\tlocks=0 ]\t(\t`chs(\\"../../opengl3/picture\\")`\t'
    '"cinspace lin cinlut \\"\\" cinwhite 685 cingamma 0.6"\t)\n'
    'nodename\t[ 0\tlocks=0 ]\t(\t"userdef"\t)\n'
    'aspect\t[ 0\tlocks=0 ]\t(\t[ aspect\t1 ] \t)\n'
    'maskplane\t[ 0\tlocks=0 ]\t(\tA\t)\n}\n')


def read(path, env=None):
    return houdini_hip.read(str(path), ReadContext(env=env or {}))


def by_source(result):
    return {r.source: r for r in result.refs}


def test_bare_word_with_backticks_and_escaped_quotes_is_one_component():
    p = parse_parms(REAL_COP_FILE)
    assert [c.value for c in p["filename"]] == ['`chs("../../opengl3/picture")`',
                                                'cinspace lin cinlut "" cinwhite 685 cingamma 0.6']
    assert [(c.channel, c.value) for c in p["aspect"]] == [("aspect", "1")]
    assert p["maskplane"][0].value == "A" and p["nodename"][0].value == "userdef"


def test_hipwriter_writes_strings_the_way_houdini_does():
    text = parm_text({"filename": ['`chs("../../opengl3/picture")`', "cinspace lin cinlut \"\" cinwhite 685 cingamma 0.6"],
                      "nodename": Quoted("userdef"), "stdswitcher": [0, 0, 0, 0],
                      "aspect": ("aspect", 1), "maskplane": "A"})
    for line in REAL_COP_FILE.splitlines()[2:-1]:
        assert line in text.splitlines(), line


def lookdev_scene() -> HipWriter:
    w = HipWriter()
    w.node("obj/lookdev", "subnet", {"hdri_path": "$JOB/hdri/sky.exr", "version": 3})
    w.node("obj/lookdev/lights/envlight1", "envlight", {"env_map": '`chs("../../hdri_path")`'})
    w.node("obj/lookdev/geo/file1", "file", {"file": '$HIP/geo/rock_v`ch("../../version")`.$F4.bgeo.sc'})
    w.node("mat/wood", "principledshader::2.0", {"name": "wood", "basecolor_texture": '$HIP/tex/`chs("name")`.png',
                                                "rough_texture": '$HIP/tex/`opfullpath(".")`_rough.png',
                                                "metallic_texture": '$HIP/tex/`chs("nope")`.png'})
    w.node("out/mantra1", "ifd", {"vm_picture": "$HIP/render/$HIPNAME.$OS.$F4.exr"})
    w.node("img/comp/Mantra_Bake", "file", {"filename": ['`chs("../../../out/mantra1/vm_picture")`',
                                                         "cinspace lin cinlut \"\" cinwhite 685 cingamma 0.6"]})
    w.node("obj/geo2/file1", "file", {"file": '`pythonexprs("hou.pwd().path() + \'.bgeo\'")`'})
    return w


def test_backtick_chs_and_ch_evaluated_from_the_same_scene(tmp_path):
    res = read(lookdev_scene().write(tmp_path / "lookdev.hip"))
    refs = by_source(res)
    assert refs["/obj/lookdev/lights/envlight1.env_map"].value == "$JOB/hdri/sky.exr"
    geo = refs["/obj/lookdev/geo/file1.file"]
    assert geo.value == "$HIP/geo/rock_v3.$F4.bgeo.sc" and geo.sequence
    assert refs["/mat/wood.basecolor_texture"].value == "$HIP/tex/wood.png"
    # the COP File node's second component is its Cineon options, not a file
    bake = [r for r in res.refs if r.source == "/img/comp/Mantra_Bake.filename"]
    assert [(r.value, r.kind) for r in bake] == [("$HIP/render/$HIPNAME.mantra1.$F4.exr", "image")]


def test_what_cannot_be_evaluated_is_one_warning_and_no_file(tmp_path):
    res = read(lookdev_scene().write(tmp_path / "lookdev.hip"))
    refs = by_source(res)
    for src in ("/mat/wood.rough_texture", "/mat/wood.metallic_texture", "/obj/geo2/file1.file"):
        assert src not in refs
        assert sum(w.startswith(src + ": ") for w in res.warnings) == 1, (src, res.warnings)
    assert any("chs('nope') names no parameter" in w for w in res.warnings)
    for r in res.refs:
        assert "`" not in r.value and "(" not in r.value and '"' not in r.value, r.value


def test_scan_lists_no_fragment_as_a_missing_file(tmp_path):
    shot = tmp_path / "shot"
    (shot / "geo").mkdir(parents=True)
    (shot / "tex").mkdir()
    for f in (1001, 1002):
        (shot / "geo" / f"rock_v3.{f}.bgeo.sc").write_bytes(b"g")
    (shot / "tex" / "wood.png").write_bytes(b"p")
    hip = lookdev_scene().write(shot / "lookdev.hip")
    deps = scan_scene(str(hip), frames=[1001, 1002], env={"JOB": str(tmp_path / "job")})
    s = str(shot).replace("\\", "/")
    got = {d.path: d.exists for d in deps.dependencies}
    assert got == {f"{s}/lookdev.hip": True, f"{s}/geo/rock_v3.1001.bgeo.sc": True, f"{s}/geo/rock_v3.1002.bgeo.sc": True,
                   f"{s}/tex/wood.png": True, str(tmp_path / "job" / "hdri" / "sky.exr").replace("\\", "/"): False,
                   # the COP File node reads the mantra ROP's frames back: inputs of a comp, not there yet
                   f"{s}/render/lookdev.mantra1.1001.exr": False, f"{s}/render/lookdev.mantra1.1002.exr": False}
    assert [o.path for o in deps.outputs] == [f"{s}/render/lookdev.mantra1.$F4.exr"]
    assert sum("/obj/geo2/file1.file: " in w for w in deps.warnings) == 1


# --- Houdini's own libraries, in every form a saved scene names them ----------------------------

BUILTIN_FORMS = [
    "C:/PROGRA~1/SIDEEF~1/HOUDIN~1.548/houdini/otls/OPlibSop.hda",          # Windows, 8.3 short names
    "C:/Program Files/Side Effects Software/Houdini 20.5.548/houdini/otls/OPlibSop.hda",
    "c:/program files/side effects software/houdini 20.5.548/houdini/otls/OPlibSop.hda",
    "/Applications/Houdini/Houdini20.5.548/Frameworks/Houdini.framework/Versions/20.5/Resources/houdini/otls/OPlibSop.hda",
    "/opt/hfs20.5/houdini/otls/OPlibSop.hda",
    "/opt/hfs20.5.548/houdini/otls/OPlibSop.hda",
    "/studio/apps/houdini-20.5.548/houdini/otls/OPlibSop.hda",                # only known through $HFS
]


def test_houdini_install_libraries_never_uploaded_nor_missing(tmp_path):
    w = HipWriter()
    for i, lib in enumerate(BUILTIN_FORMS):
        # as Houdini writes .OPfallbacks: the absolute path, then the same library relative
        w.fallback(f"Sop/attribwrangle{i}", lib, "otls/OPlibSop.hda")
        w.node(f"obj/geo1/wrangle{i}", f"attribwrangle{i}", {"snippet": "@P.y += 1;"})
    w.fallback("Sop/studio::scatter::1.0", "C:/PROGRA~1/studio/otls/scatter.hda")
    w.node("obj/geo1/scatter1", "studio::scatter::1.0", {"seed": 1})
    w.node("obj/envlight1", "envlight", {"env_map": "C:/PROGRA~1/SIDEEF~1/HOUDIN~1.775/houdini/pic/default.pic"})
    w.node("obj/envlight2", "envlight", {"env_map": "$HFS/houdini/pic/DOSCH_SKIES_0040_lowres.rat"})
    hip = w.write(tmp_path / "win.hip")
    res = houdini_hip.read(str(hip), ReadContext(env={"HFS": "/studio/apps/houdini-20.5.548"}))
    assert [(r.value, r.kind) for r in res.refs] == [("C:/PROGRA~1/studio/otls/scatter.hda", "hda")]
    assert res.warnings == []
    # without $HFS the studio-installed copy is a library like any other
    bare = houdini_hip.read(str(hip), ReadContext(env={}))
    assert "/studio/apps/houdini-20.5.548/houdini/otls/OPlibSop.hda" in [r.value for r in bare.refs]
    deps = scan_scene(str(hip), frames=[1], env={"HFS": "/studio/apps/houdini-20.5.548"})
    assert not any("OPlib" in d.path or "SIDEEF~1" in d.path for d in deps.dependencies)


# --- a .hip saved as text (hou.saveMode.Text): the same records as MIME parts --------------------

def test_text_hip_reads_like_the_cpio_hip(tmp_path):
    w = lookdev_scene()
    plain = read(w.write(tmp_path / "cpio.hip"))
    text_path = w.write(tmp_path / "text.hip", flavour="text")
    assert text_path.read_bytes().startswith(b"MIME-Version: 1.0\n")
    text = read(text_path)
    assert [(r.source, r.value, r.output) for r in text.refs] == [(r.source, r.value, r.output) for r in plain.refs]
    assert text.warnings == plain.warnings


def test_text_hip_cut_short_is_incomplete(tmp_path):
    data = lookdev_scene().data("text")
    cut = tmp_path / "cut.hip"
    cut.write_bytes(data[: data.index(b'filename="img/comp/Mantra_Bake.init"')])
    res = read(cut)
    assert "/obj/lookdev/lights/envlight1.env_map" in by_source(res)
    assert any("no closing MIME delimiter" in w for w in res.warnings) and res.truncated_at == len(cut.read_bytes())
    with pytest.raises(IncompleteScene):
        scan_scene(str(cut), frames=[1])
