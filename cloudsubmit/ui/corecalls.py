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


def submit(request: SubmitRequest, deps: DependencySet, config: Any,
           progress: Optional[ProgressCallback]) -> SubmitResult:
    from .. import api

    result = api.submit_scene(request.scene, frames=request.frames, config=config, progress=progress)
    return SubmitResult(job_id=str(getattr(result, "job_id", result)))


def status(job_id: str, config: Any) -> List[StageProgress]:
    from ..jobs import status as job_status

    st = job_status.job_status(job_id, config)
    return [StageProgress(name, _state(c), c.done, c.total) for name, c in st.stages.items()]


def _state(counts: Any) -> str:
    if counts.failed:
        return "failed"
    if counts.total and counts.done >= counts.total:
        return "done"
    return "running" if (counts.running or counts.done or counts.idle) else "waiting"
