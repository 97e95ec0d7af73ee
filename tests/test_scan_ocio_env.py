"""$OCIO: when no scene names a colour config, the one the environment names is the one Maya,
Houdini, Arnold and Nuke load, so it and its search_path files are dependencies too."""
from __future__ import annotations

from pathlib import Path

from cloudsubmit.scan import scan_scene
from support.hipwriter import HipWriter

# Laid out as OCIO 2 serialises a config (environment, search_path list, roles, displays, colorspaces)
CONFIG = '''ocio_profile_version: 2

environment:
  {}
search_path:
  - luts
  - $SHOW_LUTS
strictparsing: true
luma: [0.2126, 0.7152, 0.0722]

roles:
  default: raw

file_rules:
  - !<Rule> {name: Default, colorspace: default}

displays:
  sRGB:
    - !<View> {name: Film, colorspace: film}

active_displays: []
active_views: []

colorspaces:
  - !<ColorSpace>
    name: raw
    family: raw
    equalitygroup: ""
    bitdepth: 32f
    isdata: true
    allocation: uniform

  - !<ColorSpace>
    name: film
    from_scene_reference: !<FileTransform> {src: print.cube, interpolation: linear}
'''


def config(folder: Path) -> Path:
    (folder / "luts").mkdir(parents=True)
    (folder / "luts" / "print.cube").write_text("LUT_3D_SIZE 2\n")
    (folder / "shared").mkdir()
    (folder / "shared" / "grade.cdl").write_text("<ColorDecisionList/>\n")
    path = folder / "config.ocio"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def ocio_files(result):
    return {Path(d.path).name: (d.exists, d.source) for d in result.dependencies if d.kind == "ocio"}


def test_env_ocio_config_and_its_luts_when_no_scene_names_one(tmp_path):
    cfg = config(tmp_path / "show" / "ocio")
    w = HipWriter()
    w.node("out/karma1", "karma", {"picture": "$HIP/render/$HIPNAME.$OS.$F4.exr"})
    hip = w.write(tmp_path / "shot.hip")
    env = {"OCIO": str(cfg), "SHOW_LUTS": str(cfg.parent / "shared")}
    got = ocio_files(scan_scene(str(hip), frames=[1], env=env))
    assert got == {"config.ocio": (True, "$OCIO"), "print.cube": (True, "config.ocio:search_path"),
                   "grade.cdl": (True, "config.ocio:search_path")}


def test_a_config_the_scene_names_wins_over_env_ocio(tmp_path):
    env_cfg = config(tmp_path / "env")
    scene_cfg = config(tmp_path / "scene")
    w = HipWriter()
    w.node("stage/karmarendersettings", "karmarenderproperties", {"ocio_config": str(scene_cfg).replace("\\", "/")})
    hip = w.write(tmp_path / "shot.hip")
    result = scan_scene(str(hip), frames=[1], env={"OCIO": str(env_cfg), "SHOW_LUTS": str(tmp_path / "scene" / "shared")})
    paths = {d.path for d in result.dependencies if d.kind == "ocio"}
    assert str(scene_cfg).replace("\\", "/") in paths
    assert not any(p.startswith(str(tmp_path / "env").replace("\\", "/")) for p in paths)
    assert any(p.endswith("/scene/luts/print.cube") for p in paths)     # the named config is read too


def test_missing_env_config_is_reported_and_builtin_uri_is_not_a_file(tmp_path):
    hip = HipWriter().write(tmp_path / "shot.hip")
    gone = scan_scene(str(hip), frames=[1], env={"OCIO": str(tmp_path / "nope" / "config.ocio")})
    assert ocio_files(gone) == {"config.ocio": (False, "$OCIO")}
    builtin = scan_scene(str(hip), frames=[1], env={"OCIO": "ocio://studio-config-latest"})
    assert ocio_files(builtin) == {}


def test_an_inline_search_path_splits_at_colons_before_absolute_folders(tmp_path):
    """OCIO 1 configs write ``search_path`` as one string, ``:``-separated on Linux and macOS:
    ``luts:/show/shared`` is two folders (a ``:`` before ``/`` is a separator, not a drive)."""
    cfg = config(tmp_path / "show" / "ocio")
    shared = (cfg.parent / "shared").as_posix()
    text = CONFIG.replace("search_path:\n  - luts\n  - $SHOW_LUTS\n", f"search_path: luts:{shared}\n")
    cfg.write_text(text, encoding="utf-8")
    w = HipWriter()
    w.node("out/karma1", "karma", {"picture": "$HIP/render/$HIPNAME.$OS.$F4.exr"})
    hip = w.write(tmp_path / "shot.hip")
    got = ocio_files(scan_scene(str(hip), frames=[1], env={"OCIO": str(cfg)}))
    assert got == {"config.ocio": (True, "$OCIO"), "print.cube": (True, "config.ocio:search_path"),
                   "grade.cdl": (True, "config.ocio:search_path")}
