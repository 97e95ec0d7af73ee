"""The panel's services bound to the core's public functions. Imported only when a real panel is
built, so tests of the controller and widgets never need the scanner, the store or a pool."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from ..progress import ProgressCallback
from ..scan.model import DependencySet
from .services import IN_STORE, MISSING, TO_UPLOAD, StageProgress, SubmitRequest, SubmitResult


def scan(scene: str, frames: Optional[List[int]], snap: Any, config: Any,
         progress: Optional[ProgressCallback]) -> DependencySet:
    """A live host's file list when there is one, else the offline reader for the scene file."""
    if snap is not None and snap.refs:
        from ..hosts.livescan import scan_snapshot

        return scan_snapshot(snap, frames, config=config, progress=progress)
    from ..scan import scan_scene

    return scan_scene(scene, frames=frames, config=config, progress=progress)


def resolve(paths: List[str], config: Any, progress: Optional[ProgressCallback]) -> Dict[str, str]:
    from ..store import open_store
    from ..store import resolve as store_resolve

    states = {"in_store": IN_STORE, "to_upload": TO_UPLOAD}
    store = open_store(None, config)
    try:
        resolution = store_resolve(paths, store, config, progress=progress)
    finally:
        store.close()
    return {f.path: states.get(f.state, MISSING) for f in resolution.files}


def render_options(request: SubmitRequest) -> Dict[str, str]:
    """The renderer template tokens the panel chose (``{renderer}``, ``{camera}``, ``{layer}`` or
    ``{rop}`` in jobs/renderers.yaml)."""
    houdini = request.scene.lower().endswith((".hip", ".hipnc", ".hiplc"))
    pairs = (("renderer", request.renderer), ("camera", request.camera), ("rop" if houdini else "layer", request.layer))
    return {k: v for k, v in pairs if v}


def submit(request: SubmitRequest, deps: DependencySet, config: Any,
           progress: Optional[ProgressCallback]) -> SubmitResult:
    from .. import api

    result = api.submit_scene(
        request.scene, request.frames, config, chunk=request.chunk_size, place=dict(request.placement),
        render_options=render_options(request), scout=request.scout, job_name=request.job_name,
        priority=request.priority, dependencies=deps, allow_missing=request.allow_missing, progress=progress,
    )
    if result.cluster is not None:
        message = f"DAGMan cluster {result.cluster}."
    elif result.local:
        message = f"Ran on this machine: {result.local.get('state', '')}."
    else:
        message = ""
    return SubmitResult(job_id=result.job_id, message=message, bundle=result.bundle)


def status(job: str, config: Any) -> List[StageProgress]:
    """Per-stage progress; ``job`` is the bundle directory (or a job id from the registry)."""
    from ..jobs.registry import find_bundle
    from ..jobs.status import job_status

    st = job_status(find_bundle(config, job), pool=True, idle_after=int(config["jobs"]["explain_idle_after"]))
    first: Dict[str, str] = {}
    for problem in st.problems:  # the first problem per stage: the panel has one line per stage
        first.setdefault(problem.stage, problem.line())
    return [StageProgress(name, _state(c), c.done, c.total, first.get(name, "")) for name, c in st.stages.items()]


def _state(counts: Any) -> str:
    if counts.failed:
        return "failed"
    if counts.total and counts.done >= counts.total:
        return "done"
    return "running" if (counts.running or counts.done or counts.idle) else "waiting"
