"""The USD reader on .usda/.usdc layers written here: sublayers, references, payloads, UDIM
textures, time-sampled assets, missing layers; and the message when usd-core is absent."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cloudsubmit.errors import ScanError
from cloudsubmit.scan import usd
from cloudsubmit.scan.model import ReadContext

REPO = Path(__file__).resolve().parent.parent

ROOT = '''#usda 1.0
(
    subLayers = [@./layers/anim.usda@, @./layers/missing_fx.usda@]
    startTimeCode = 1001
    endTimeCode = 1100
)
def Xform "World" (
    references = @./assets/rock.usdc@</Rock>
    payload = @./assets/tree heavy.usda@</Tree>
)
{
    def Shader "wood"
    {
        uniform token info:id = "UsdUVTexture"
        asset inputs:file = @./tex/wood.<UDIM>.exr@
    }
    def Shader "ghost"
    {
        asset inputs:file = @./tex/ghost.<UDIM>.exr@
    }
    def Shader "flip"
    {
        asset inputs:file.timeSamples = {
            1001: @./tex/flip.1001.exr@,
            1002: @./tex/flip.1002.exr@,
        }
    }
    def Shader "label"
    {
        asset inputs:file = @./tex/ラベル.png@
    }
}
'''

ANIM = '''#usda 1.0
def "World" {
    def Xform "cache" (
        references = @../assets/nested/deep.usda@
    )
    {
    }
}
'''

DEEP = '''#usda 1.0
def "Deep" {
    def Shader "bark"
    {
        asset inputs:file = @./bark.tx@
    }
    def Volume "smoke"
    {
        asset filePath = @/nonexistent/smoke.vdb@
    }
}
'''


@pytest.fixture
def stage(tmp_path, usd_core):
    from pxr import Sdf

    (tmp_path / "layers").mkdir()
    (tmp_path / "assets" / "nested").mkdir(parents=True)
    (tmp_path / "tex").mkdir()
    (tmp_path / "root.usda").write_text(ROOT, encoding="utf-8")
    (tmp_path / "layers" / "anim.usda").write_text(ANIM, encoding="utf-8")
    (tmp_path / "assets" / "nested" / "deep.usda").write_text(DEEP, encoding="utf-8")
    (tmp_path / "assets" / "nested" / "bark.tx").write_bytes(b"x")
    rock = Sdf.Layer.CreateNew(str(tmp_path / "assets" / "rock.usdc"))
    Sdf.CreatePrimInLayer(rock, "/Rock").specifier = Sdf.SpecifierDef
    rock.Save()
    (tmp_path / "assets" / "tree heavy.usda").write_text('#usda 1.0\ndef "Tree" {}\n', encoding="utf-8")
    for tile in ("1001", "1002", "1011"):
        (tmp_path / "tex" / f"wood.{tile}.exr").write_bytes(b"x")
    (tmp_path / "tex" / "flip.1001.exr").write_bytes(b"x")
    (tmp_path / "tex" / "ラベル.png").write_bytes(b"x")
    return tmp_path


def p(root, rel):
    return (str(root) + "/" + rel).replace("\\", "/")


def test_layers_assets_udims_and_missing(stage):
    res = usd.read(str(stage / "root.usda"), ReadContext())
    refs = {r.value: r for r in res.refs}
    root_layer = p(stage, "root.usda")
    assert set(refs) == {p(stage, x) for x in (
        "layers/anim.usda", "layers/missing_fx.usda", "assets/rock.usdc", "assets/tree heavy.usda",
        "assets/nested/deep.usda", "assets/nested/bark.tx", "tex/wood.<UDIM>.exr", "tex/ghost.<UDIM>.exr",
        "tex/flip.1001.exr", "tex/flip.1002.exr", "tex/ラベル.png")} | {"/nonexistent/smoke.vdb"}
    for layer in ("layers/anim.usda", "assets/rock.usdc", "assets/tree heavy.usda", "assets/nested/deep.usda"):
        r = refs[p(stage, layer)]
        assert r.kind == "usd" and not r.follow     # the closure is already computed here
    assert refs[p(stage, "layers/missing_fx.usda")].source == f"{root_layer}.subLayers"
    assert refs[p(stage, "assets/rock.usdc")].source == f"{root_layer}:/World.references"
    assert refs[p(stage, "assets/tree heavy.usda")].source == f"{root_layer}:/World.payload"
    deep = refs[p(stage, "assets/nested/deep.usda")]
    assert deep.source == f"{p(stage, 'layers/anim.usda')}:/World/cache.references"
    bark = refs[p(stage, "assets/nested/bark.tx")]
    assert bark.kind == "texture" and bark.source == f"{p(stage, 'assets/nested/deep.usda')}:/Deep/bark.inputs:file"
    assert refs["/nonexistent/smoke.vdb"].kind == "volume"
    wood = refs[p(stage, "tex/wood.<UDIM>.exr")]
    assert wood.tiling == "udim" and wood.kind == "texture" and wood.source == f"{root_layer}:/World/wood.inputs:file"
    assert refs[p(stage, "tex/ghost.<UDIM>.exr")].tiling == "udim"     # no tiles: the expander reports it
    assert refs[p(stage, "tex/flip.1002.exr")].source == f"{root_layer}:/World/flip.inputs:file"
    assert (res.info.frame_start, res.info.frame_end) == (1001.0, 1100.0)


@pytest.mark.parametrize("frames,wanted", [
    ([1001], {"flip.1001.exr"}), ([1002, 1003], {"flip.1002.exr"}), ([990], {"flip.1001.exr"}),
    ([1001, 1050], {"flip.1001.exr", "flip.1002.exr"}), (None, {"flip.1001.exr", "flip.1002.exr"}),
])
def test_time_sampled_assets_only_for_chosen_frames(stage, frames, wanted):
    res = usd.read(str(stage / "root.usda"), ReadContext(frames=frames))
    flips = {r.value.rsplit("/", 1)[-1] for r in res.refs if "/flip." in r.value}
    assert flips == wanted


def test_no_usd_chatter_on_stderr(stage):
    code = ("import sys; from cloudsubmit.scan import usd; from cloudsubmit.scan.model import ReadContext; "
            f"usd.read({str(stage / 'root.usda')!r}, ReadContext())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Failed to resolve" not in out.stderr


def test_broken_nested_layer_is_named(stage):
    (stage / "assets" / "nested" / "deep.usda").write_text('#usda 1.0\ndef "Deep" {\n  oops\n', encoding="utf-8")
    with pytest.raises(ScanError) as exc:
        usd.read(str(stage / "root.usda"), ReadContext())
    msg = str(exc.value)
    assert msg.startswith(str(stage / "root.usda")) and "deep.usda:3" in msg and "\n" not in msg
    assert msg.count("deep.usda:3") == 1


@pytest.mark.parametrize("name,content,needle", [
    ("bad.usda", '#usda 1.0\ndef Xform "A" {\n  bad syntax here\n', "Expected }"),
    ("bad.usdc", "PXR-USDC" + "x" * 50, "cannot read USD layer"),
])
def test_corrupt_layer_is_a_scan_error(tmp_path, usd_core, name, content, needle):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ScanError) as exc:
        usd.read(str(path), ReadContext())
    assert str(path) in str(exc.value) and needle in str(exc.value) and "\n" not in str(exc.value)


def test_missing_root_layer(tmp_path, usd_core):
    with pytest.raises(ScanError, match="no such file"):
        usd.read(str(tmp_path / "nope.usda"), ReadContext())


def test_without_usd_core_the_message_says_how_to_install(tmp_path):
    layer = tmp_path / "a.usda"
    layer.write_text("#usda 1.0\n")
    code = textwrap.dedent(f"""
        import sys
        class BlockPxr:
            def find_spec(self, name, path=None, target=None):
                if name == "pxr" or name.startswith("pxr."):
                    raise ImportError("blocked for the test: " + name)
                return None
        sys.meta_path.insert(0, BlockPxr())
        from cloudsubmit.errors import ScanError
        from cloudsubmit.scan import usd
        from cloudsubmit.scan.model import ReadContext
        try:
            usd.read({str(layer)!r}, ReadContext())
        except ScanError as exc:
            print(exc, exc.exit_code)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert out.stdout.strip() == "install cloudsubmit[usd] (usd-core) to scan USD layers 2", out.stderr


def test_usdz_package_is_one_dependency(tmp_path, usd_core):
    from pxr import Sdf

    (tmp_path / "tex").mkdir()
    (tmp_path / "tex" / "leaf.png").write_bytes(b"png-bytes")
    (tmp_path / "asset.usda").write_text(
        '#usda 1.0\ndef "Leaf"\n{\n    asset a = @./tex/leaf.png@\n    asset b = @./tex/gone.png@\n}\n')
    zipped = Sdf.ZipFileWriter.CreateNew(str(tmp_path / "leaf.usdz"))
    zipped.AddFile(str(tmp_path / "asset.usda"), "asset.usda")
    zipped.AddFile(str(tmp_path / "tex" / "leaf.png"), "tex/leaf.png")
    zipped.Save()
    (tmp_path / "shot.usda").write_text('#usda 1.0\ndef "W" (\n    references = @./leaf.usdz@\n)\n{\n}\n')
    res = usd.read(str(tmp_path / "shot.usda"), ReadContext())
    assert [(r.value, r.kind) for r in res.refs] == [(p(tmp_path, "leaf.usdz"), "usd")]
    assert any("leaf.usdz: tex/gone.png is missing inside the package" in w for w in res.warnings)
    own = usd.read(str(tmp_path / "leaf.usdz"), ReadContext())
    assert own.refs == []
