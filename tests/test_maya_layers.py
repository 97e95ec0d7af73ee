"""Render setup read offline (scan/maya_layers.py): each layer's frame range, image prefix and
renderable cameras with its overrides replayed, in the form Maya 2023 writes them (node blocks
and connections copied from tests/fixtures/real/maya/deadline/layers.ma), and the submit path
using those ranges per layer group when no live session is there."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from fixtures.maya_files import node, render_globals, write_ma

from cloudsubmit.api import SubmitOptions, render_groups, submit_scene
from cloudsubmit.config import load_config
from cloudsubmit.scan import maya_ascii, scan_scene
from cloudsubmit.scan.model import ReadContext

REAL = Path(__file__).resolve().parent / "fixtures" / "real" / "maya" / "deadline" / "layers.ma"


def _layer(name: str) -> list:
    return [node("renderSetupLayer", name, 'addAttr -ci true -sn "es" -ln "expandedState" -min 0 -max 1 -at "bool";'),
            node("renderLayer", f"rs_{name}"), f'connectAttr "rs_{name}.msg" "{name}.lrl";',
            f'connectAttr "renderSetup.lit" "{name}.pls";']


def _collection(name: str, layer: str, selection: str = "", pattern: str = "", ntype: str = "collection") -> list:
    sets = [f'setAttr ".ssl" -type "string" "{selection}";'] if selection else []
    sets += [f'setAttr ".pat" -type "string" "{pattern}";'] if pattern else []
    return [node(ntype, name), node("simpleSelector", f"{name}Selector", *sets),
            f'connectAttr "{name}Selector.c" "{name}.sel";', f'connectAttr "{layer}.lit" "{name}.pls";']


def _override(ntype: str, name: str, parent: str, attr: str, *sets: str, target: str = "") -> list:
    lines = [f'setAttr ".atr" -type "string" "{attr}";']
    lines += [f'setAttr ".tgName" -type "string" "{target}";'] if target else []
    return [node(ntype, name, *lines, *sets), f'connectAttr "{parent}.lit" "{name}.pls";']


def _cameras(*names: str) -> list:
    return [b for n in names for b in (node("transform", n), node("camera", f"{n}Shape", parent=n))]


def _read(path):
    return maya_ascii.read(str(path), ReadContext())


def test_overrides_apply_in_list_order_and_relative_ones_build_on_what_came_before(tmp_path):
    blocks = [*_cameras("shotCam"), node("renderSetup", "renderSetup"), *_layer("fx"),
              *_collection("rsc", "fx", "defaultRenderGlobals", ntype="renderSettingsCollection"),
              # written out of order: list order comes from .prv, not from the file
              *_override("relUniqueOverride", "endLater", "rsc", "endFrame", 'setAttr ".mul" 1;', 'setAttr ".ofs" 5;',
                         target="defaultRenderGlobals"),
              *_override("absUniqueOverride", "endFirst", "rsc", "endFrame", 'setAttr ".atv" 1040;',
                         target="defaultRenderGlobals"),
              'connectAttr "endFirst.nxt" "endLater.prv";',
              *_override("absUniqueOverride", "prefix", "rsc", "imageFilePrefix",
                         'setAttr ".atv" -type "string" "<Scene>/fx/<RenderLayer>";', target="defaultRenderGlobals"),
              render_globals(1001, 1024, prefix="<Scene>/<RenderLayer>")]
    result = _read(write_ma(tmp_path / "shot.ma", blocks))
    assert result.info.layer_frames == {"rs_fx": (1001.0, 1045.0, 1.0)}     # 1040, then +5
    assert result.info.layer_outputs == {"rs_fx": ["<Scene>/fx/fx"]}        # the layer's own prefix
    assert (result.info.frame_start, result.info.frame_end) == (1001, 1024)   # the scene's own range stays


def test_a_collection_pattern_and_a_static_selection_pick_the_cameras_a_layer_renders(tmp_path):
    blocks = [*_cameras("camA", "camB", "witness"), node("renderSetup", "renderSetup"), *_layer("beauty"),
              *_collection("offCams", "beauty", pattern="cam*"),
              *_override("absOverride", "off", "offCams", "renderable"),            # no .atv written: off
              *_collection("onCams", "beauty", selection="|camB|camBShape"),
              *_override("absOverride", "on", "onCams", "renderable", 'setAttr ".atv" yes;'),
              'connectAttr "offCams.nxt" "onCams.prv";',
              node("renderLayer", "defaultRenderLayer", 'setAttr ".rndr" no;'),
              render_globals(1, 5, prefix="")]
    result = _read(write_ma(tmp_path / "shot.ma", blocks))
    assert result.info.layers == ["rs_beauty"]            # the master layer is off: not rendered
    # camA off (pattern), camB back on (later collection wins), witness untouched: two cameras
    assert result.info.layer_outputs == {"rs_beauty": ["camB/<Scene>", "witness/<Scene>"]}
    assert result.info.layer_cameras == {"rs_beauty": ["camB", "witness"]}


def test_a_scene_without_render_setup_keeps_one_output_per_token(tmp_path):
    blocks = [*_cameras("cam"), node("renderLayer", "defaultRenderLayer"), render_globals(1, 3, prefix="<Scene>/<RenderLayer>")]
    result = _read(write_ma(tmp_path / "shot.ma", blocks))
    assert [r.value for r in result.refs if r.output] == ["<Scene>/masterLayer"] and result.info.layer_frames == {}


def test_submit_without_a_live_session_renders_each_layer_over_its_own_range(tmp_path):
    deps = scan_scene(str(REAL), env={})
    groups = render_groups(str(REAL), deps, ["all"], [], None, list(range(1, 11)))
    assert [(g.label, g.frames[0], g.frames[-1]) for g in groups] == [
        ("defaultRenderLayer", 1, 10), ("rs_layerFrameRange1", 1, 10), ("rs_renderSetupLayer2", 20, 30),
        ("rs_layerDefaultFrames", 1, 10), ("rs_renderSetupLayer4", 1, 20)]   # rs_notRenderableLayer is off
    cfg = load_config(overrides={"jobs.registry": str(tmp_path / "r.jsonl"),
                                 "jobs.generic_command": [sys.executable, "-c", "pass", "{layer}"]}, env={})
    result = submit_scene(str(REAL), SubmitOptions(renderer="generic", place={"render": "local"}, dry_run=True,
                                                   layers=["rs_renderSetupLayer2", "rs_renderSetupLayer4"],
                                                   allow_missing=True, bundle_dir=str(tmp_path / "b")), cfg)
    plan = json.loads((Path(result.bundle) / "job.json").read_text(encoding="utf-8"))["plan"]
    frames: dict = {}
    for n in plan["nodes"]:
        if n.get("group"):
            frames.setdefault(n["group"], []).extend(n["frames"])
    assert {g: (min(f), max(f), len(f)) for g, f in frames.items()} == {
        "rs_renderSetupLayer2": (20, 30, 11), "rs_renderSetupLayer4": (1, 20, 20)}
    here = REAL.parent
    assert {(here / "renderSetupLayer2" / c).as_posix() for c in ("camera1", "camera2", "camera3")} | {
        (here / "renderSetupLayer4" / c).as_posix() for c in ("camera1", "persp")} <= set(result.output_dirs)


def test_a_switched_off_override_or_collection_has_no_effect(tmp_path):
    """Render setup writes ``setAttr ".sen" no`` (selfEnabled) on an override or collection
    switched off in its window; a collection's overrides follow it (their ``.pen`` is connected
    from its ``.en``, as in tests/fixtures/real/maya/deadline/layers.ma)."""
    blocks = [*_cameras("shotCam"), node("renderSetup", "renderSetup"), *_layer("fx"),
              *_collection("rsc", "fx", "defaultRenderGlobals", ntype="renderSettingsCollection"),
              *_override("absUniqueOverride", "endOn", "rsc", "endFrame", 'setAttr ".atv" 1040;',
                         target="defaultRenderGlobals"),
              *_override("absUniqueOverride", "endOff", "rsc", "endFrame", 'setAttr ".atv" 1090;', 'setAttr ".sen" no;',
                         target="defaultRenderGlobals"),
              'connectAttr "endOn.nxt" "endOff.prv";', 'connectAttr "rsc.en" "endOn.pen";',
              'connectAttr "rsc.en" "endOff.pen";',
              *_layer("bg"),
              *_collection("rscBg", "bg", "defaultRenderGlobals", ntype="renderSettingsCollection"),
              *_override("absUniqueOverride", "startBg", "rscBg", "startFrame", 'setAttr ".atv" 900;',
                         target="defaultRenderGlobals"),
              'connectAttr "rscBg.en" "startBg.pen";',
              *_collection("cams", "bg", pattern="shot*"),
              *_override("absOverride", "camOff", "cams", "renderable"),
              'connectAttr "cams.en" "camOff.pen";',
              render_globals(1001, 1024, prefix="<Scene>/<RenderLayer>")]
    on = _read(write_ma(tmp_path / "on.ma", blocks)).info
    assert on.layer_frames == {"rs_fx": (1001.0, 1040.0, 1.0), "rs_bg": (900.0, 1024.0, 1.0)}
    assert on.layer_cameras["rs_bg"] == []
    # switch the bg collections off: their overrides (range, camera off) no longer apply
    blocks = [b.replace('createNode renderSettingsCollection -n "rscBg";', 'createNode renderSettingsCollection -n "rscBg";\n\tsetAttr ".sen" no;')
              .replace('createNode collection -n "cams";', 'createNode collection -n "cams";\n\tsetAttr ".sen" no;') for b in blocks]
    off = _read(write_ma(tmp_path / "off.ma", blocks)).info
    assert off.layer_frames == {"rs_fx": (1001.0, 1040.0, 1.0)}
    assert off.layer_cameras == {"rs_fx": ["shotCam"], "rs_bg": ["shotCam"]}


def _legacy_layer(name: str, *adjustments: tuple, renderable: bool = True) -> list:
    """A legacy render layer as Maya writes it (form of public Maya 2011-2016 .ma files): the
    adjustment values in the node's body (``setAttr -s N ".adjs"``, ``setAttr ".adjs[i].val"``)
    and, with the connections at the end, the plug each one adjusts (``connectAttr
    ":defaultRenderGlobals.ren" "occlusion.adjs[0].plg"``). ``adjustments``: (plug, raw value)."""
    body = [] if renderable else ['setAttr ".rndr" no;']
    body += [f'setAttr -s {len(adjustments)} ".adjs";'] if adjustments else []
    body += [f'setAttr ".adjs[{i}].val" {value};' for i, (_plug, value) in enumerate(adjustments)]
    return [node("renderLayer", name, *body)] + [f'connectAttr "{plug}" "{name}.adjs[{i}].plg";'
                                                 for i, (plug, _value) in enumerate(adjustments)]


def test_legacy_layers_adjust_range_prefix_and_cameras(tmp_path):
    """Layer ``fg`` is the current one at save time (its values are in the nodes); the default
    layer's adjustments hold the scene's own values of those plugs, and ``bg`` adjusts its own."""
    blocks = [*_cameras("shotCam", "witness"),
              node("renderLayerManager", "renderLayerManager", 'setAttr ".crl" 1;'),
              *_legacy_layer("defaultRenderLayer", (":defaultRenderGlobals.fs", "1001"), (":defaultRenderGlobals.ef", "1024"),
                             ("witnessShape.rnd", "no")),
              *_legacy_layer("fg", (":defaultRenderGlobals.fs", "1001"), (":defaultRenderGlobals.ef", "1010"),
                             ("witnessShape.rnd", "yes"),
                             (":defaultRenderGlobals.ifp", '-type "string" "<Scene>/fg/<RenderLayer>"')),
              *_legacy_layer("bg", (":defaultRenderGlobals.ef", "1100"), ("|shotCam|shotCamShape.rnd", "no")),
              *_legacy_layer("matte", (":defaultRenderGlobals.fs", "1"), renderable=False),
              render_globals(1001, 1010, prefix="<Scene>/<RenderLayer>/<Camera>"),   # fg's values: it is current
              'select -ne :witnessShape;', '\tsetAttr ".rnd" yes;']
    info = _read(write_ma(tmp_path / "shot.ma", blocks)).info
    assert info.layers == ["defaultRenderLayer", "fg", "bg"]           # matte is not renderable
    assert info.layer_frames == {"defaultRenderLayer": (1001.0, 1024.0, 1.0), "bg": (1001.0, 1100.0, 1.0)}
    assert info.layer_cameras == {"defaultRenderLayer": ["shotCam"], "fg": ["shotCam", "witness"], "bg": []}
    # fg's own prefix names no camera: Maya puts each of its two cameras' images in a folder
    assert info.layer_outputs["fg"] == ["shotCam/<Scene>/fg/fg", "witness/<Scene>/fg/fg"]
    assert info.layer_outputs["defaultRenderLayer"] == ["<Scene>/masterLayer/shotCam"]


def test_adjustments_of_a_scene_on_render_setup_are_not_replayed(tmp_path):
    """A render setup scene's layers render their overrides; a stale adjustment left on the
    default layer from its legacy days does not change them."""
    blocks = [*_cameras("shotCam"), node("renderSetup", "renderSetup"), *_layer("fx"),
              *_legacy_layer("defaultRenderLayer", (":defaultRenderGlobals.ef", "1200")),
              render_globals(1001, 1024, prefix="<Scene>/<RenderLayer>")]
    info = _read(write_ma(tmp_path / "shot.ma", blocks)).info
    assert info.layer_frames == {}
