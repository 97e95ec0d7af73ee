"""The panel's three models on their own, without a controller, Qt or services: the form's rules,
the file list's filter and counts, the job's status lines."""
from __future__ import annotations

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
