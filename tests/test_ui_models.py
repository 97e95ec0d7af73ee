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
    form.layer_frames, form.layer_cameras = {"/out/beauty": (5, 8, 1)}, {"/out/beauty": "/obj/cam2"}
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
