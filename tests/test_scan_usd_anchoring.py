"""Where USD looks for an asset: anchored to the layer that authors it (./x, ../x), a search-path
form (textures/x.png) beside that layer first and then on the search paths, never relative to the
root layer or the folder the command runs in; USD's own diagnostics never reach stderr."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cloudsubmit.config import load_config
from cloudsubmit.scan import scan_scene, usd
from cloudsubmit.scan.model import ReadContext

REPO = Path(__file__).resolve().parent.parent

# Syntax as in OpenUSD's own test layers (sublayers, references with and without ./, asset inputs)
SHOT = '''#usda 1.0
(
    subLayers = [
        @lighting.usda@,
        @./fx_missing.usda@
    ]
    startTimeCode = 1
    endTimeCode = 2
)

def Xform "World" (
    prepend references = @../assets/rock/rock.usda@</Rock>
)
{
}
'''

def shader(name: str, path: str) -> str:
    """A UsdUVTexture shader as OpenUSD's test layers write one."""
    return (f'    def Shader "{name}"\n    {{\n        uniform token info:id = "UsdUVTexture"\n'
            f'        asset inputs:file = @{path}@\n    }}\n')


ROCK = ('#usda 1.0\n(\n    defaultPrim = "Rock"\n)\n\n'
        'def Xform "Rock" (\n    prepend references = [@proxy.usda@, @./lod/lod0.usda@]\n)\n{\n'
        + shader("diffuse", "textures/rock_diffuse.<UDIM>.png") + shader("bump", "textures/rock_bump.png")
        + shader("shared", "textures/studio_grunge.png") + shader("sharedUdim", "textures/studio_dirt.<UDIM>.png")
        + shader("lost", "textures/rock_spec.png") + "}\n")


@pytest.fixture
def show(tmp_path, usd_core, monkeypatch):
    """shot/shot.usda references assets/rock/rock.usda; the studio library holds shared textures.
    The scan runs from an unrelated folder, so nothing may be anchored to the current directory."""
    (tmp_path / "shot").mkdir()
    (tmp_path / "assets" / "rock" / "textures").mkdir(parents=True)
    (tmp_path / "assets" / "rock" / "lod").mkdir()
    (tmp_path / "library" / "textures").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "shot" / "shot.usda").write_text(SHOT, encoding="utf-8")
    (tmp_path / "assets" / "rock" / "rock.usda").write_text(ROCK, encoding="utf-8")
    for tile in (1001, 1002):
        (tmp_path / "assets" / "rock" / "textures" / f"rock_diffuse.{tile}.png").write_bytes(b"d")
    (tmp_path / "assets" / "rock" / "textures" / "rock_bump.png").write_bytes(b"b")
    (tmp_path / "library" / "textures" / "studio_grunge.png").write_bytes(b"g")
    (tmp_path / "library" / "textures" / "studio_dirt.1001.png").write_bytes(b"g")
    monkeypatch.chdir(tmp_path / "elsewhere")
    return tmp_path


def p(root, rel):
    return (str(root) + "/" + rel).replace("\\", "/")


def values(res):
    return {r.value: r for r in res.refs}


def test_search_path_forms_anchor_to_the_authoring_layer(show):
    res = usd.read(str(show / "shot" / "shot.usda"), ReadContext(env={}))
    refs = values(res)
    rock = p(show, "assets/rock/rock.usda")
    assert set(refs) == {
        rock,
        p(show, "shot/lighting.usda"), p(show, "shot/fx_missing.usda"),               # missing, beside shot.usda
        p(show, "assets/rock/proxy.usda"), p(show, "assets/rock/lod/lod0.usda"),       # missing, beside rock.usda
        p(show, "assets/rock/textures/rock_diffuse.<UDIM>.png"),
        p(show, "assets/rock/textures/rock_bump.png"),
        p(show, "assets/rock/textures/studio_grunge.png"),      # not on any search path: where USD looked first
        p(show, "assets/rock/textures/studio_dirt.<UDIM>.png"),
        p(show, "assets/rock/textures/rock_spec.png"),
    }
    assert refs[p(show, "shot/lighting.usda")].source == p(show, "shot/shot.usda") + ".subLayers"
    assert refs[p(show, "assets/rock/proxy.usda")].source == f"{rock}:/Rock.references"
    assert refs[p(show, "assets/rock/textures/rock_spec.png")].source == f"{rock}:/Rock/lost.inputs:file"
    assert refs[p(show, "assets/rock/textures/rock_diffuse.<UDIM>.png")].tiling == "udim"
    assert not any("elsewhere" in v for v in refs)


@pytest.mark.parametrize("how", ["env", "config"])
def test_search_paths_from_the_environment_or_the_config(show, how):
    lib = str(show / "library")
    if how == "env":
        ctx = ReadContext(env={"PXR_AR_DEFAULT_SEARCH_PATH": os.pathsep.join(["/nonexistent/lib", lib])})
    else:
        ctx = ReadContext(config=load_config(overrides={"scan.usd_search_paths": [lib]}, env={}), env={})
    refs = values(usd.read(str(show / "shot" / "shot.usda"), ctx))
    grunge = refs[p(show, "library/textures/studio_grunge.png")]
    assert grunge.source == p(show, "assets/rock/rock.usda") + ":/Rock/shared.inputs:file"
    dirt = refs[p(show, "library/textures/studio_dirt.<UDIM>.png")]
    assert dirt.tiling == "udim"
    # beside the authoring layer still wins over the search path
    assert p(show, "assets/rock/textures/rock_bump.png") in refs
    assert p(show, "assets/rock/textures/studio_grunge.png") not in refs


def test_scan_udim_tiles_found_make_the_pattern_not_missing(show):
    deps = scan_scene(str(show / "shot" / "shot.usda"), env={"PXR_AR_DEFAULT_SEARCH_PATH": str(show / "library")})
    got = {d.path: d.exists for d in deps.dependencies}
    for tile in (1001, 1002):
        assert got[p(show, f"assets/rock/textures/rock_diffuse.{tile}.png")] is True
    assert got[p(show, "library/textures/studio_dirt.1001.png")] is True
    assert not any("<UDIM>" in path for path in got), got
    missing = sorted(path for path, ok in got.items() if not ok)
    assert missing == sorted([p(show, "shot/lighting.usda"), p(show, "shot/fx_missing.usda"),
                              p(show, "assets/rock/proxy.usda"), p(show, "assets/rock/lod/lod0.usda"),
                              p(show, "assets/rock/textures/rock_spec.png")])


def test_cli_scan_writes_no_usd_diagnostics_to_stderr(show):
    env = dict(os.environ, PYTHONPATH=str(REPO), CLOUDSUBMIT_USER_CONFIG=os.devnull)
    env.pop("PXR_AR_DEFAULT_SEARCH_PATH", None)
    out = subprocess.run([sys.executable, "-m", "cloudsubmit", "scan", str(show / "shot" / "shot.usda")],
                         capture_output=True, text=True, env=env, cwd=str(show / "elsewhere"), timeout=300)
    assert out.returncode == 1          # files are missing
    assert "Warning" not in out.stderr and "Failed to resolve" not in out.stderr, out.stderr
    assert "proxy.usda" in out.stdout


def test_usd_warnings_are_kept_as_scan_warnings(usd_core):
    from pxr import Tf

    with Tf.DiagnosticTrap() as trap:
        Tf.Warn("Failed to resolve reference @x.usda@ with computed asset path @x.usda@")
        Tf.Warn("Layer has an unknown  field\n 'frobnicate'")
        got = usd._usd_warnings(trap, "/show/a.usda")
    assert got == ["/show/a.usda: USD: Layer has an unknown field 'frobnicate'"]
