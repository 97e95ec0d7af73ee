"""The Maya readers' fast paths against their reference paths, on real files: what they skip
(node groups by their form type, node bodies nobody reads, helper lookups of a texture node that
sets none) must never change what they find."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fixtures.maya_files import file_node, node, render_globals, write_ma

from cloudsubmit.scan import maya_ascii, maya_binary
from cloudsubmit.scan.attributes import AttrRule, helper_names, load_table, rule_refs
from cloudsubmit.scan.iff import IffFile
from cloudsubmit.scan.model import RawRef, ReadContext

REAL_MA = sorted((Path(__file__).resolve().parent / "fixtures" / "real" / "maya").rglob("*.ma"))


def _answer(result):
    return [dataclasses.asdict(r) for r in result.refs], result.warnings, dataclasses.asdict(result.info)


@pytest.mark.parametrize("rule", [r for rules in load_table().values() for r in rules], ids=str)
def test_a_row_without_its_helpers_gives_what_the_full_lookup_gives(rule):
    # A node that sets no helper of the row (or only the frame value, which counts only when the
    # frames switch is on) is read without lookups: the same RawRefs as asking for each helper.
    frame_only = {rule.frame_value: 12.0} if rule.frame_value else {}
    assert not set(frame_only) & helper_names(rule)
    for values in (["/show/tex/a.exr"], ["/a;/b", ""], []):
        for get in (lambda name: None, frame_only.get):
            assert rule_refs("n1", rule.node_type, rule, values) == rule_refs("n1", rule.node_type, rule, values, get)


def test_rule_refs_fills_each_field_by_its_name():
    # rule_refs builds RawRefs positionally (half the cost of keywords): every field must still
    # land where its name says, whatever the row's switches and helpers.
    rule = AttrRule("cacheFile", "cachePath", "cp", "cache", frames="useFrameExtension", frame_value="frameExtension",
                    frame_offset="frameOffset", tiling="uvTilingMode", follow=True, suffix=".xml", folder=True)
    values = {"useFrameExtension": "yes", "frameExtension": "7", "frameOffset": "2", "uvTilingMode": "3"}
    assert rule_refs("c1", "cacheFile", rule, ["/cache/a"], values.get) == [RawRef(
        value="/cache/a.xml", source="c1.cachePath", kind="cache", node_type="cacheFile", sequence=True,
        frame_offset=2, frame_value=7.0, tiling="udim", follow=True, folder=True)]
    other = dataclasses.replace(rule, follow=False, folder=False, output=True, optional=True)
    assert rule_refs("c1", "cacheFile", other, ["/cache/a"]) == [RawRef(
        value="/cache/a.xml", source="c1.cachePath", kind="cache", node_type="cacheFile", output=True, optional=True)]


@pytest.mark.parametrize("scene", REAL_MA, ids=lambda p: p.name)
def test_block_cuts_never_change_a_real_ma(scene, monkeypatch):
    whole = _answer(maya_ascii.read(str(scene), ReadContext(env={})))
    monkeypatch.setattr(maya_ascii, "BLOCK", 97)   # a cut after nearly every top-level statement
    assert _answer(maya_ascii.read(str(scene), ReadContext(env={}))) == whole


def test_block_cuts_inside_node_bodies_and_crlf(tmp_path, monkeypatch):
    blocks = [file_node(f"f{i}", f"/tex/t{i}.<UDIM>.exr", uvt="3", ufe="yes") for i in range(40)]
    blocks += [node("mesh", "m", 'setAttr ".vt[0:2]" ' + " ".join(["1.5"] * 3000) + ";"), render_globals(3, 9)]
    for newline in ("\n", "\r\n"):
        scene = write_ma(tmp_path / "many.ma", blocks, newline=newline)
        whole = _answer(maya_ascii.read(str(scene), ReadContext(env={})))
        assert len(whole[0]) == 40 + 1 and whole[2]["frame_end"] == 9
        for size in (64, 300, 4096):
            monkeypatch.setattr(maya_ascii, "BLOCK", size)
            assert _answer(maya_ascii.read(str(scene), ReadContext(env={}))) == whole


def test_statements_after_comment_and_blank_lines_are_read(tmp_path):
    scene = write_ma(tmp_path / "c.ma", [
        file_node("a", "/tex/a.png") + "\n// a note a TD left\n",
        file_node("b", "/tex/b.png") + "\n\n",
        'setAttr "a.ftn" -type "string" "/tex/a2.png";',
    ])
    refs = {r.source: r.value for r in maya_ascii.read(str(scene), ReadContext(env={})).refs}
    assert refs == {"a.fileTextureName": "/tex/a2.png", "b.fileTextureName": "/tex/b.png"}


def test_group_walk_visits_the_groups_the_chunk_walk_visits(real_scenes):
    for scene in sorted(real_scenes.glob("*.mb")):
        with open(scene, "rb") as fh:
            iff = IffFile(fh, str(scene))
            root = maya_binary._maya_root(iff)
            reference = [(c, iff.small_body(c)) for c in iff.children(root) if c.is_group]
            assert list(iff.groups(root, frozenset())) == reference, scene.name


def test_skipping_node_groups_by_type_never_changes_a_real_mb(real_scenes, monkeypatch):
    for scene in sorted(real_scenes.glob("*.mb")):
        fast = _answer(maya_binary.read(str(scene), ReadContext(env={})))
        walk = IffFile.groups
        monkeypatch.setattr(IffFile, "groups", lambda self, group, skip: walk(self, group, frozenset()))
        assert _answer(maya_binary.read(str(scene), ReadContext(env={}))) == fast, scene.name
        monkeypatch.undo()
