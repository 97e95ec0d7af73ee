"""Small hand-written stand-ins for the core services, shared by the controller and panel tests.

They work on real files: the "scan" stats the files it was given, the "store" is a set of paths
that a teammate uploaded before, "submit" records the request it was given."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional

from cloudsubmit.progress import ProgressReport, report
from cloudsubmit.scan.model import Dependency, DependencySet, SceneInfo
from cloudsubmit.ui.services import Services, StageProgress, SubmittedJob
from cloudsubmit.vocabulary import IN_STORE, TO_UPLOAD


def listed_files(n: int, missing: int = 0) -> List[Dependency]:
    """``n`` existing and ``missing`` absent dependencies as a scanner reports them, without
    touching disk: for tests about how many rows the panel copes with, not about files."""
    deps = [Dependency(f"/gs/show/tex/tex_{i:05d}.exr", True, 1, "texture", f"file{i}.fileTextureName") for i in range(n)]
    return deps + [Dependency(f"/gs/show/tex/gone_{i}.exr", False, None, "texture", f"gone{i}.ftn") for i in range(missing)]


def make_files(root: Path, n: int, size: int = 1000, missing: int = 0) -> List[str]:
    """``n`` real files under ``root`` plus ``missing`` paths that do not exist."""
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = root / f"tex_{i:05d}.exr"
        p.write_bytes(b"x" * size)
        paths.append(p.as_posix())
    paths += [(root / f"gone_{i}.exr").as_posix() for i in range(missing)]
    return paths


class FakeCore:
    """Services over real files. ``in_store`` is what the team already uploaded."""

    def __init__(self, files: List[str], in_store: Optional[set] = None, info: Optional[SceneInfo] = None,
                 listed: Optional[List[Dependency]] = None) -> None:
        self.files = files
        self.listed = listed
        self.in_store = set(in_store or ())
        self.info = info or SceneInfo()
        self.scans: List[tuple] = []
        self.submitted: List[tuple] = []
        self.status_calls = 0

    def scan(self, scene: str, frames, snap, progress) -> DependencySet:
        self.scans.append((scene, frames, snap))
        if self.listed is not None:
            for i in range(0, len(self.listed), 500):
                report(progress, ProgressReport("scan", i, len(self.listed)))
            return DependencySet(scene=scene, frames="", dependencies=list(self.listed), info=self.info)
        deps = []
        for i, path in enumerate(self.files):
            exists = os.path.isfile(path)
            deps.append(Dependency(path, exists, os.path.getsize(path) if exists else None, "texture", f"file{i}.fileTextureName"))
            if i % 500 == 0:
                report(progress, ProgressReport("scan", i, len(self.files)))
        return DependencySet(scene=scene, frames="", dependencies=deps, info=self.info)

    def resolve(self, paths: List[str], progress) -> Dict[str, str]:
        report(progress, ProgressReport("resolve", 0, len(paths)))
        return {p: IN_STORE if p in self.in_store else TO_UPLOAD for p in paths}

    def submit(self, request, deps, progress) -> SubmittedJob:
        report(progress, ProgressReport("upload", 0, 1))
        self.submitted.append((request, deps))
        return SubmittedJob(job_id="job-0001", message="3 stages queued")

    def status(self, job_id: str) -> List[StageProgress]:
        self.status_calls += 1
        return [StageProgress("upload", "done", 12, 12), StageProgress("render", "running", 3, 10),
                StageProgress("download", "waiting")]

    def services(self) -> Services:
        return Services(scan=self.scan, resolve=self.resolve, submit=self.submit, status=self.status)


def open_panel(qtbot, tmp_path: Path, core: "FakeCore", frames: str = "1-10"):
    """A panel on an empty ``shot010.ma`` under ``tmp_path``, over ``core``'s services, with
    ``frames`` typed in. Qt is imported here, so the Qt-free tests can use the fakes without it."""
    from cloudsubmit.ui.controller import SubmitController
    from cloudsubmit.ui.panel import SubmitPanel

    scene = tmp_path / "shot010.ma"
    scene.write_text("//Maya ASCII 2023 scene\n")
    ctrl = SubmitController(core.services())
    ctrl.load_scene(str(scene))
    panel = SubmitPanel(ctrl)
    qtbot.addWidget(panel)
    panel.frames.setText(frames)
    return panel
