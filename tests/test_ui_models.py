"""The panel's three models on their own, without a controller, Qt or services: the form's rules,
the file list's filter and counts, the job's status lines."""
from __future__ import annotations

import pytest

from cloudsubmit.scan.model import Dependency, DependencySet
from cloudsubmit.ui.models import FileListModel, FormModel, JobModel, build_rows
from cloudsubmit.ui.services import StageProgress, SubmittedJob
from cloudsubmit.ui.settings import PanelSettings
from cloudsubmit.vocabulary import IN_STORE, MISSING, TO_UPLOAD


def test_form_model_keeps_the_artists_choices_and_their_rules():
    form = FormModel.from_settings(PanelSettings(chunk_size=4, placement={"upload": "local", "render": "cloud"}))
    assert form.set_frame_text("1-10").count == 10 and form.frames_summary() == "10 frames, 3 chunks, scout 1,6,10"
    assert "counts down" in form.set_frame_text("10-1").error and form.frames == []
    form.layer_frames, form.layer_cameras = {"/out/beauty": (5, 8, 1)}, {"/out/beauty": ["/obj/cam2"]}
    form.set_choices("karma", ["/obj/cam1"], ["/out/beauty", "/out/cache"])
    form.set_layer("/out/beauty")
    assert (form.frame_text, form.camera, form.cameras) == ("5-8", "/obj/cam2", ["/obj/cam1", "/obj/cam2"])
    form.job_name = "a\nb"
    assert "one line" in form.job_name_error()
    form.set_placement("render", "local")
    assert form.settings().placement == {"upload": "local", "render": "local"}
    req = form.request("/shot/a.hip")
    assert (req.scene, req.frames, req.chunk_size, req.layer) == ("/shot/a.hip", "5-8", 4, "/out/beauty")


def test_file_list_model_filters_and_counts(tmp_path):
    present = tmp_path / "tex" / "wood.tx"
    present.parent.mkdir()
    present.write_bytes(b"x" * 2048)
    deps = DependencySet(str(tmp_path / "a.ma"), "", [
        Dependency(str(present), True, 2048, "texture", "file1.fileTextureName"),
        Dependency(str(tmp_path / "lost.exr"), False, None, "texture", "file2.fileTextureName"),
        Dependency(str(tmp_path / "a.ma"), True, 10, "scene", "scene")])
    files = FileListModel()
    files.set_rows(build_rows(deps, {str(present): TO_UPLOAD, str(tmp_path / "a.ma"): IN_STORE}))
    assert [r.state for r in files.rows] == [MISSING, TO_UPLOAD, IN_STORE]   # what needs the artist first
    assert files.counts() == {IN_STORE: 1, TO_UPLOAD: 1, MISSING: 1, "unknown": 0}
    assert files.totals_text() == "3 files, 1 already in the cloud, 1 to upload, 2.0 KB, 1 missing"
    files.set_filter(text="WOOD")
    assert [r.path for r in files.visible] == [str(present)]
    files.set_filter(text="", state=MISSING)
    assert [r.path for r in files.visible] == [str(tmp_path / "lost.exr")]


def test_job_model_names_where_each_stage_runs():
    job = JobModel()
    assert job.status_lines({}) == [] and not job.finished()
    job.submitted_as(SubmittedJob("j-1", "DAGMan cluster 7."), {"upload": "local", "render": "cloud", "comp": "local"})
    job.stages = [StageProgress("upload", "done"), StageProgress("render", "running", 1, 3),
                  StageProgress("post_comp", "waiting")]
    assert job.status_lines({"upload": "local", "render": "cloud", "comp": "local"}) == [
        "Job j-1 submitted. DAGMan cluster 7.", "upload (local): done", "render (cloud): running 1/3",
        "post_comp (local): waiting"]
    job.stages = [StageProgress("upload", "done"), StageProgress("render", "failed")]
    assert job.finished()


def _layered_form() -> FormModel:
    """Three layers as render setup gives them (the scene renders 1-10): "b" and "c" with ranges
    and cameras of their own."""
    form = FormModel.from_settings(PanelSettings(chunk_size=10, scout=False))
    form.scene_range = (1.0, 10.0, 1.0)
    form.layer_frames = {"b": (20.0, 30.0, 1.0), "c": (1.0, 20.0, 1.0)}
    form.layer_cameras = {"a": ["cam1"], "b": ["cam1", "cam2", "cam3"], "c": ["persp", "cam1"]}
    form.set_choices("arnold", ["cam1", "persp"], ["a", "b", "c"])
    return form


def test_several_layers_render_their_own_ranges_and_cameras_unless_the_artist_says_otherwise():
    form = _layered_form()
    assert (form.layer, form.chosen_cameras, form.cameras) == ("a", ["cam1"], ["cam1", "persp", "cam2", "cam3"])
    assert not form.offers_own_ranges            # one layer: the Frames field is its range
    form.set_layers(["b", "c"])
    assert form.uses_own_ranges and form.frames == list(range(1, 31))   # the union: what the file list covers
    assert form.chosen_cameras == ["cam1", "persp", "cam2", "cam3"]     # what b and c render, ticked
    assert form.cameras_per_layer() == {"b": ["cam1", "cam2", "cam3"], "c": ["cam1", "persp"]}
    assert form.frames_summary() == "30 frames, 10 chunks, each layer its own range: b 20-30, c 1-20"
    assert form.layer_label("b") == "b  (20-30; cam1, cam2, cam3)" and form.layer_label("a") == "a  (1-10; cam1)"
    req = form.request("/shot/a.ma")
    assert (req.frames, req.layer_frames) == ("1-30", {"b": "20-30", "c": "1-20"})
    assert req.layer_cameras == {"b": ["cam1", "cam2", "cam3"], "c": ["cam1", "persp"]}
    form.set_own_ranges(False)                   # "Override": the Frames field for every layer
    form.set_frame_text("5-6")
    assert form.frames == [5, 6] and form.request("/shot/a.ma").layer_frames == {}
    assert form.frames_summary() == "2 frames, 5 chunks"
    form.set_cameras(["cam2", "persp"])          # the artist's own ticks: each layer the ones it renders
    assert form.cameras_per_layer() == {"b": ["cam2"], "c": ["persp"]}
    form.set_layers(["a", "b"])                  # and they no longer follow the layers
    assert form.chosen_cameras == ["persp", "cam2"]
    assert form.cameras_per_layer() == {"a": ["persp"], "b": ["persp", "cam2"]}   # persp: no ticked layer renders it


def test_layers_with_one_range_share_the_frames_field_and_an_error_blocks_only_when_it_is_used():
    form = _layered_form()
    form.set_layers(["a", "c"])
    form.set_own_ranges(False)
    form.set_frame_text("10-1")
    assert "counts down" in form.frames_error and form.frames == []
    form.set_own_ranges(True)                    # the field is not what renders: its error does not block
    assert form.frames_error == "" and form.frames == list(range(1, 21))
    form.layer_frames = {}
    form.own_ranges = None
    assert form.offers_own_ranges and not form.ranges_differ and not form.uses_own_ranges  # same range: off
    form.scene_range = None
    assert not form.offers_own_ranges            # a layer with no range it knows: the Frames field


def _scanned(n: int) -> DependencySet:
    """A scan's worth of files in no order, with repeated sizes (ties a sort must keep stable),
    missing files and one a referenced scene cut short."""
    import random

    rnd = random.Random(13)
    names = [f"/gs/sq{rnd.randrange(40):02d}/tex/{rnd.randrange(10 ** 6):06d}_{i}.exr" for i in range(n)]
    deps = [Dependency(p, i % 11 != 0, rnd.choice((None, 5, 5, 70, 3000)) if i % 11 else None, "texture",
                       f"file{i}.fileTextureName", "cut short" if i == 7 else "") for i, p in enumerate(names)]
    return DependencySet("/gs/sq01/shot.ma", "", deps)


def test_sorting_in_steps_is_pythons_stable_sort(monkeypatch):
    from cloudsubmit.ui import models

    monkeypatch.setattr(models, "STEP", 7)  # many runs and merge slices from a few hundred items
    keys = [(i * 7919) % 23 for i in range(500)]  # lots of equal keys
    for items in (range(500), range(499, -1, -1), [3, 1, 2], []):
        for reverse in (False, True):
            assert models.sorted_in_steps(items, keys.__getitem__, reverse) == \
                sorted(items, key=keys.__getitem__, reverse=reverse)


def test_the_file_list_filters_and_sorts_as_a_plain_loop_would(monkeypatch):
    from cloudsubmit.ui import models

    monkeypatch.setattr(models, "STEP", 50)
    deps, states = _scanned(900), {}
    for i, d in enumerate(deps.dependencies):
        states[d.path] = IN_STORE if i % 3 else TO_UPLOAD
    table = models.row_table(deps, states)
    rows = [table.row(i) for i in table.order]
    assert rows == sorted(rows, key=lambda r: (models.ROW_ORDER[r.state], r.path))  # what needs the artist first
    assert rows[[r.path for r in rows].index(deps.dependencies[7].path)].state == MISSING  # cut short
    for text, state, sort in (("", "all", None), ("sq0 EXR", "all", None), ("", MISSING, (2, True)),
                              ("TEX sq1", TO_UPLOAD, (1, False)), ("file1", "all", (3, True)), ("", "all", (0, True)),
                              ("nothing-like-this", "all", (2, False)), ("sq01", "all", None),
                              ("sq02 _1", MISSING, (1, True)), ("cut", "all", (2, True))):
        picked = [i for i, r in enumerate(rows) if (state == "all" or r.state == state)
                  and all(w in r.haystack for w in text.lower().split())]
        if sort is not None:
            column, descending = sort
            if column == 0:
                picked = picked[::-1] if descending else picked
            else:
                name = models._SORT_COLUMNS[column]
                picked = sorted(picked, key=lambda i: getattr(rows[i], name) or 0, reverse=descending)
        assert list(models.filtered(table, text, state, sort)) == picked, (text, state, sort)
    assert set(table.views) == {(2, True), (1, False), (3, True), (0, True), (2, False), (1, True)}  # each made once, kept


def test_the_table_gives_back_the_scans_records_in_the_scans_order_and_holds_nothing_the_collector_walks(monkeypatch):
    """The panel keeps no Dependency object per file: Submit gets them back from the columns,
    each as scanned (a missing file, one cut short with its problem), in the scan's order."""
    import gc

    from cloudsubmit.ui import models

    monkeypatch.setattr(models, "STEP", 50)
    deps = _scanned(900)
    table = models.row_table(deps, {d.path: IN_STORE for d in deps.dependencies})
    assert [table.row(i).path for i in table.order] != [d.path for d in deps.dependencies]  # rows were reordered
    assert table.records() == deps.dependencies
    assert table.source[list(table.path).index(deps.dependencies[7].path)].endswith("; cut short")
    gc.collect()
    assert not any(gc.is_tracked(getattr(table, name)) for name in models._STORED)


def test_two_masks_are_anded_byte_by_byte():
    from cloudsubmit.ui.models import both

    assert both(b"\x01\x00\x01\x01", bytes(b"\x01\x01\x00\x01")) == b"\x01\x00\x00\x01"
    assert both(b"\x00" * 9 + b"\x01", b"\x01" * 10) == b"\x00" * 9 + b"\x01" and both(b"", b"") == b""


def test_typing_on_narrows_what_is_shown_to_what_the_whole_list_would_give(monkeypatch):
    from cloudsubmit.ui import models

    monkeypatch.setattr(models, "STEP", 50)
    table = models.row_table(_scanned(900))
    files = FileListModel()
    files.set_rows(table)
    narrowed = []
    real = models._narrowed
    monkeypatch.setattr(models, "_narrowed", lambda *a: narrowed.append(a[2]) or real(*a))
    files.sort = (1, True)
    for text in ("s", "sq", "sq1", "sq1 ", "sq1 T", "sq1 tex/0", "sq1 tex/01", "sq2", "", "7"):
        files.set_filter(text=text)
        assert list(files.visible.order) == list(models.filtered(table, text, "all", (1, True))), text
    assert narrowed == [["sq"], ["sq1"], ["sq1"], ["sq1", "t"], ["sq1", "tex/0"], ["sq1", "tex/01"]]
    files.set_filter(text="7", state=MISSING)  # another state: the whole list again
    assert list(files.visible.order) == list(models.filtered(table, "7", MISSING, (1, True)))
    assert len(narrowed) == 6


def test_a_superseded_view_stops_early_and_a_selection_follows_its_rows_into_another_view(monkeypatch):
    from cloudsubmit.ui import models

    monkeypatch.setattr(models, "STEP", 50)
    table = models.row_table(_scanned(900))
    asked = []
    with pytest.raises(models.Superseded):  # a newer request came: stop at the next slice, not after all 18
        models.filtered(table, "sq", "all", (1, True), stale=lambda: asked.append(1) or len(asked) == 3)
    assert len(asked) == 3
    selection = models.Selection(table, table.order, ((0, 4), (100, 100), (3, 6)))  # overlapping, as ctrl-clicks give
    order = models.filtered(table, "", "all", (1, True))
    ranges = models.carried_selection(selection, table, order)
    assert {order[i] for first, last in ranges for i in range(first, last + 1)} == {*table.order[:7], table.order[100]}
    assert all(later[0] > earlier[1] + 1 for earlier, later in zip(ranges, ranges[1:]))  # as few ranges as can be
    assert models.carried_selection(selection, models.row_table(_scanned(900)), order) == ()  # another list: none
