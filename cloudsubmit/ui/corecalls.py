"""The panel's services bound to the core's public functions. Imported only when a real panel is
built, so tests of the controller and widgets never need the scanner, the store or a pool."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional

from ..progress import ProgressCallback
from ..scan.model import DependencySet
from ..vocabulary import IN_STORE, MISSING, TO_UPLOAD
from .services import Services, StageProgress, SubmitRequest, SubmittedJob

if TYPE_CHECKING:
    from ..config import Config


def scan(scene: str, frames: Optional[List[int]], snap: Any, config: Config,
         progress: Optional[ProgressCallback]) -> DependencySet:
    """A live host's file list when there is one, else the offline reader for the scene file."""
    if snap is not None and snap.refs:
        from ..hosts.livescan import scan_snapshot

        return scan_snapshot(snap, frames, config=config, progress=progress)
    from ..scan import scan_scene

    return scan_scene(scene, frames=frames, config=config, progress=progress)


def resolve(paths: List[str], config: Config, progress: Optional[ProgressCallback]) -> Dict[str, str]:
    from ..store import open_store
    from ..store import resolve as store_resolve

    store = open_store(None, config)
    try:
        resolution = store_resolve(paths, store, config, progress=progress)
    finally:
        store.close()
    return {f.path: f.state if f.state in (IN_STORE, TO_UPLOAD) else MISSING for f in resolution.files}


def store_url(config: Config) -> str:
    """The store the panel resolves against, as ``submit`` chooses it ("" = the embedded one)."""
    from ..store import store_url as chosen

    return chosen(None, config)


def embedded_store() -> str:
    """The embedded default store's folder (what "" above means), for the panel to name it."""
    from ..userdirs import user_data_dir

    return (user_data_dir() / "store").as_posix()


def render_options(request: SubmitRequest) -> Dict[str, str]:
    """The renderer template tokens the panel chose (``{renderer}``, ``{camera}``, ``{layer}`` or
    ``{rop}`` in jobs/renderers.yaml) over a preset's own tokens; several layers or cameras are
    render groups instead of one token."""
    from ..api import layer_token

    layer = request.layer if len(request.layers) <= 1 else ""
    camera = request.camera if len(request.cameras) <= 1 and not own_cameras(request) else ""
    pairs = (("renderer", request.renderer), ("camera", camera), (layer_token(request.scene), layer))
    return dict(request.render_options, **{k: v for k, v in pairs if v})


def own_cameras(request: SubmitRequest) -> Dict[str, List[str]]:
    """The cameras each layer renders, when they are not simply every ticked camera for every
    ticked layer ({} then: the layers x cameras groups say it already)."""
    cameras = list(request.cameras)
    return {} if all(list(c) == cameras for c in request.layer_cameras.values()) else dict(request.layer_cameras)


def placement(request: SubmitRequest) -> Dict[str, str]:
    """The panel's placement, less the post stages a preset's own ``post`` list does not have."""
    from ..vocabulary import CORE_STAGES

    if request.post is None:
        return dict(request.placement)
    posts = {str(p.get("name")) for p in request.post}
    return {s: w for s, w in request.placement.items() if s in CORE_STAGES or s in posts}


def submit(request: SubmitRequest, deps: DependencySet, config: Config,
           progress: Optional[ProgressCallback]) -> SubmittedJob:
    from .. import api
    from ..frames import parse_frames

    options = api.SubmitOptions(
        frames=request.frames, chunk=request.chunk_size, place=placement(request),
        render_options=render_options(request), scout=request.scout, name=request.job_name,
        priority=request.priority, allow_missing=request.allow_missing, post=request.post,
        layers=list(request.layers) if len(request.layers) > 1 else [],
        cameras=list(request.cameras) if len(request.cameras) > 1 else [],
        layer_frames={name: parse_frames(spec) for name, spec in request.layer_frames.items()},
        layer_cameras=own_cameras(request),
        scheduler=request.scheduler or None, dry_run=request.dry_run,
    )
    result = api.submit_scene(request.scene, options, config, dependencies=deps, progress=progress)
    if result.cluster is not None:
        message = f"DAGMan cluster {result.cluster}."
    elif result.local:
        message = f"Ran on this machine: {result.local.get('state', '')}."
    else:
        message = ""
    return SubmittedJob(job_id=result.job_id, message=message, bundle=result.bundle,
                        output_dirs=list(result.output_dirs), dry_run=result.dry_run)


def status(job: str, config: Config) -> List[StageProgress]:
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


def real_services(config: Optional[Config] = None) -> Services:
    """The services bound to the core's public API with ``config`` (the layered config)."""
    from ..config import load_config

    cfg = config if config is not None else load_config()
    return Services(
        scan=lambda scene, frames, snap, progress: scan(scene, frames, snap, cfg, progress),
        resolve=lambda paths, progress: resolve(paths, cfg, progress),
        submit=lambda request, deps, progress: submit(request, deps, cfg, progress),
        status=lambda job_id: status(job_id, cfg),
        extra={"config": cfg, "store_url": store_url(cfg), "embedded_store": embedded_store()},
    )
