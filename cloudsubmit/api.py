"""The one call the CLI and the UI controller share: scene in, submitted job out.

``submit_scene`` = scan -> resolve against the team store -> plan -> write bundle -> submit, each
step reported through the progress callback (which may cancel). Build in memory, then write, then
submit: a failure before the write leaves nothing on disk; a failure at submit leaves a complete
bundle that ``cloudsubmit resubmit`` can send again."""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from .errors import ScanError, SubmitError
from .progress import ProgressCallback, ProgressReport, report

if TYPE_CHECKING:
    from .config import Config
    from .scan.model import DependencySet

    #: a live session's scan by frames (None: the scene's own range), hosts/headless.live_scanner
    LiveScan = Callable[[Optional[List[int]]], DependencySet]


@dataclass
class SubmitResult:
    job_id: str
    bundle: str
    dag: str
    scheduler: str
    dry_run: bool
    cluster: Optional[int] = None
    local: Optional[Dict[str, Any]] = None
    inputs: Dict[str, Any] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)
    output_dirs: List[str] = field(default_factory=list)  # where the images land: "where are my frames"

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"job_id": self.job_id, "bundle": self.bundle, "dag": self.dag,
                               "scheduler": self.scheduler, "dry_run": self.dry_run, "inputs": self.inputs,
                               "warnings": self.warnings, "output_dirs": self.output_dirs}
        if self.cluster is not None:
            out["cluster"] = self.cluster
        if self.local is not None:
            out["local"] = self.local
        return out


def _frames(frames: Union[str, Sequence[int], None], deps: DependencySet) -> List[int]:
    from .frames import parse_frames

    if isinstance(frames, str):
        return parse_frames(frames)
    if frames:
        return sorted(set(int(f) for f in frames))
    from .scan.scanner import scene_frames

    info = getattr(deps, "info", None)
    scene_range = scene_frames(info) if info is not None else None
    if scene_range:
        return scene_range
    raise ScanError(f"{getattr(deps, 'scene', 'scene')}: no frame range in the scene; give --frames")


def _scan(scene: str, frames: Union[str, Sequence[int], None], config: Config,
          progress: Optional[ProgressCallback], project: Optional[str] = None) -> DependencySet:
    """The scene's dependencies; a file no reader knows (a generic command's script or data
    folder) is its own only dependency, and ``inputs`` name the rest."""
    import os

    from .scan import READERS, scan_scene, scene_extension
    from .scan.model import Dependency, DependencySet
    from .scan.scanner import check_scene_file

    if scene_extension(scene) not in READERS:  # submit_scene checked it is a file
        path = check_scene_file(scene)
        return DependencySet(path, "", [Dependency(path, True, os.path.getsize(path), "scene", "scene")])
    return scan_scene(scene, frames=_frame_list(frames), project=project, config=config, progress=progress)


def _frame_list(frames: Union[str, Sequence[int], None]) -> Optional[List[int]]:
    """A frame spec (``"1-10"``) or list as the list a scan takes; None = the scene's own range."""
    from .frames import parse_frames

    return parse_frames(frames) if isinstance(frames, str) else (list(frames) if frames else None)


def _scan_for_groups(scene: str, opt: "SubmitOptions", config: Config, progress: Optional[ProgressCallback],
                     dependencies: Optional[DependencySet],
                     scan: Optional[LiveScan] = None) -> "tuple[DependencySet, List[int], List[Any]]":
    """The scene's files for every frame the job renders, with the job's frames and render groups.
    A layer's own range (render setup) is known only once the scene is read: when the chosen
    layers render frames the first scan did not cover, the scene is scanned again for all of them,
    so a plate only one layer needs is sent, or reported missing. ``dependencies`` a caller
    scanned itself (the panel scans the union already) are taken as they are; ``scan`` (a live
    session's, under mayapy or hython) is asked instead of the offline readers, both times."""
    def scan_frames(frames: Union[str, Sequence[int], None]) -> DependencySet:
        if scan is None:
            return _scan(scene, frames, config, progress, opt.project)
        return scan(_frame_list(frames))

    deps = dependencies if dependencies is not None else scan_frames(opt.frames)
    job_frames = _frames(opt.frames, deps)
    explicit = job_frames if opt.frames else None
    groups = render_groups(scene, deps, opt.layers, opt.cameras, explicit, job_frames, opt.layer_frames,
                           opt.layer_cameras)
    wanted = sorted({f for g in groups for f in g.frames})
    if dependencies is None and not set(wanted) <= set(job_frames):
        deps = scan_frames(wanted)
    return deps, job_frames, groups


def _add_inputs(deps: DependencySet, inputs: Sequence[str]) -> None:
    """Extra files or folders (walked) the renderer needs that no scene names."""
    import os

    from .paths import normpath
    from .scan.model import Dependency

    have = {d.path for d in deps.dependencies}
    for item in inputs:
        top = normpath(item)
        if not os.path.exists(top):
            raise ScanError(f"--input {item}: no such file or folder")
        files = [top] if os.path.isfile(top) else [normpath(os.path.join(d, f)) for d, _s, fs in os.walk(top) for f in fs]
        for f in sorted(files):
            if f not in have:
                have.add(f)
                deps.dependencies.append(Dependency(f, True, os.path.getsize(f), "input", "--input"))


def without_missing(deps: DependencySet) -> DependencySet:
    """A copy of ``deps`` without the files that are not there (the caller's set is untouched:
    a panel keeps showing them as missing)."""
    import copy

    kept = copy.copy(deps)
    kept.dependencies = [d for d in deps.dependencies if d.exists]
    return kept


def _checked_missing(scene: str, deps: DependencySet, allow_missing: bool) -> DependencySet:
    """Refuse a scene with missing or unusable files (a referenced scene cut short), naming how
    many and the way past; or, when allowed, drop the missing ones (an incomplete file is still
    sent: it is all there is) and say so in the result's warnings."""
    bad = [d for d in deps.dependencies if not d.exists or bool(getattr(d, "problem", ""))]
    if not bad:
        return deps
    what = "missing" if all(not d.exists for d in bad) else "missing or incomplete"
    files = f"{len(bad)} needed file{'s' if len(bad) != 1 else ''}"
    first = bad[0].path + (f" ({bad[0].problem})" if getattr(bad[0], "problem", "") else "")
    if not allow_missing:
        raise ScanError(f"{scene}: {files} {what}, first: {first} (fix the files, or submit "
                        "with --allow-missing if the render does not need them)")
    kept = without_missing(deps)
    kept.warnings = list(getattr(deps, "warnings", [])) + [
        f"{files} {what}, missing ones left out of the job (--allow-missing), first: {first}"]
    return kept


_TOKEN_CHARS = ("<", "#", "$", "%", "{")


def output_folder(path: str) -> str:
    """The folder a declared output goes to, cut before the first part with a render token
    (``images/shot/<RenderLayer>/beauty`` -> ``images/shot``): tokens differ per layer or frame,
    the folder above them is what the download brings home. A folder that exists on disk is a
    name, never a token, whatever it holds (``shot 010 $(id) #1``): only parts that are not there
    yet can be tokens, so a shot folder with ``#`` or ``$`` in its name keeps its frames."""
    parts = Path(path).parts
    for i, part in enumerate(parts[:-1]):
        if any(c in part for c in _TOKEN_CHARS) and not Path(*parts[: i + 1]).is_dir():
            return str(Path(*parts[:i])) if i else ""
    return str(Path(path).parent)


def scene_options(deps: DependencySet, given: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """Renderer tokens the scene itself answers (its renderer, its only ROP), under what the user
    chose: an artist submitting a one-ROP .hip should not have to name the ROP."""
    info = getattr(deps, "info", None)
    out: Dict[str, str] = {}
    if info is not None and info.renderer:
        out["renderer"] = info.renderer
    if info is not None and len(info.rops) == 1:
        out["rop"] = info.rops[0]
    out.update(given or {})
    return out


def layer_token(scene: str) -> str:
    """The renderer token a "layer" fills: a Houdini scene's layers are its ROPs."""
    from .scan.readers import host_extensions, scene_extension

    return "rop" if scene_extension(scene) in host_extensions("houdini") else "layer"


def render_groups(scene: str, deps: DependencySet, layers: Sequence[str], cameras: Sequence[str],
                  frames: Optional[List[int]], default_frames: List[int],
                  layer_frames: Optional[Mapping[str, Sequence[int]]] = None,
                  layer_cameras: Optional[Mapping[str, Sequence[str]]] = None) -> List[Any]:
    """One render group per layer x camera (``["all"]`` = every renderable layer or ROP the scene
    names); none when neither is given (the job renders the scene's own). A layer renders its own
    range where the scene overrides it (render setup, a ROP's range) unless ``frames`` were given
    explicitly; ``layer_frames`` and ``layer_cameras`` (the panel's per-layer choices) name a layer's
    frames and cameras outright."""
    from .frames import range_frames
    from .jobs.plan import RenderGroup

    info = getattr(deps, "info", None)
    if list(layers) == ["all"]:
        layers = list(getattr(info, "layers", []) or []) + list(getattr(info, "rops", []) or [])
        if not layers:
            raise ScanError(f"{scene}: --layer all, but the scene names no render layers or ROPs")
    if not layers and not cameras:
        return []
    given_frames, given_cameras = dict(layer_frames or {}), dict(layer_cameras or {})
    combos = [(layer, camera) for layer in (layers or [""]) for camera in (given_cameras.get(layer) or cameras or [""])]
    own = dict(getattr(info, "layer_frames", {}) or {})
    token = layer_token(scene)
    groups = []
    for layer, camera in combos:
        chosen = given_frames.get(layer) or frames or (range_frames(*own[layer]) if layer in own else default_frames)
        options = {k: v for k, v in ((token, layer), ("camera", camera)) if v}
        groups.append(RenderGroup("_".join(x for x in (layer, camera) if x), list(chosen), options))
    return groups


def _output_dirs(deps: DependencySet, output_dir: str, bundle: Path) -> List[str]:
    if output_dir:
        return [output_dir]
    found = sorted({d for d in (output_folder(o.path) for o in getattr(deps, "outputs", [])) if d})
    return found or [str(bundle / "output")]


def _store_url(url: Optional[str], config: Config) -> str:
    """The URL the job's nodes will use, as the store names itself. Opening sends no request (an
    S3 client is made on first use), so a dry run works with the endpoint unreachable."""
    from .store import open_store

    store = open_store(url, config)
    store.close()
    return store.url


def _resolve(paths: List[str], config: Config, store_url: Optional[str],
             progress: Optional[ProgressCallback]) -> "tuple[str, Dict[str, Any]]":
    from .store import open_store
    from .store.layouts import resolve_inputs

    store = open_store(store_url, config)
    try:
        res = resolve_inputs(paths, store, config, progress=progress)
        return store.url, res.summary()
    finally:
        store.close()


@dataclass
class SubmitOptions:
    """Everything a submit may choose, built by the CLI (``commands/jobs.py``) and the panel
    (``ui/corecalls.py``) alike; ``None`` or empty means "the config's default".

    ``frames``: a spec ("1-100x5"), a list, or None for the scene's range. ``place``: stage ->
    local|cloud. ``post``: extra post stages (``{"name", "command"}``) instead of ``jobs.post``.
    ``inputs``: files or folders no scene names. ``allow_missing``: send the job without files
    that do not exist instead of refusing it. ``dry_run``: write the bundle, submit nothing (and
    never contact the store). ``bundle_dir``: the folder the bundle is written into (as
    ``<bundle_dir>/<job id>``). ``project``: the Maya project the scan resolves against (the
    render's ``{project}`` token comes from ``render_options``). ``layers`` x ``cameras``: more
    than one makes one group of render nodes each (see :func:`render_groups`); ``layer_frames``
    and ``layer_cameras`` give a layer its own frames and cameras (the panel's per-layer choice)."""

    frames: Union[str, Sequence[int], None] = None
    chunk: Optional[int] = None
    renderer: Optional[str] = None
    render_options: Dict[str, str] = field(default_factory=dict)
    place: Dict[str, str] = field(default_factory=dict)
    scout: Optional[bool] = None
    post: Optional[List[Dict[str, Any]]] = None
    name: str = ""
    priority: int = 0
    inputs: List[str] = field(default_factory=list)
    allow_missing: bool = False
    dry_run: bool = False
    scheduler: Optional[str] = None
    bundle_dir: Optional[str] = None
    output_dir: str = ""
    store_url: Optional[str] = None
    project: Optional[str] = None
    layers: List[str] = field(default_factory=list)
    cameras: List[str] = field(default_factory=list)
    layer_frames: Dict[str, List[int]] = field(default_factory=dict)
    layer_cameras: Dict[str, List[str]] = field(default_factory=dict)


def submit_scene(scene: str, options: Optional[SubmitOptions] = None, config: Optional[Config] = None, *,
                 dependencies: Optional[DependencySet] = None, scan: Optional[LiveScan] = None,
                 progress: Optional[ProgressCallback] = None) -> SubmitResult:
    """Submit ``scene`` as ``options`` say. ``dependencies`` skips the offline scan, for a host
    adapter that scanned the live session for the job's frames; ``scan`` is a live session's scan
    by frames (hosts/headless.live_scanner), asked again when the chosen layers' own ranges go
    beyond the first answer."""
    from .config import load_config
    from .jobs.bundle import bundle_path, write_bundle
    from .jobs.plan import make_plan
    from .jobs.submit import check_pool_dir, check_pool_tools
    from .readiness import check_cloud_ready
    from .scan.scanner import check_scene_file

    opt = options or SubmitOptions()
    config = config or load_config()
    check_scene_file(scene)  # before the live session or a reader: one message for every command
    report(progress, ProgressReport("scan", 0, 1, message=scene))
    if opt.project is not None and not Path(opt.project).is_dir():
        raise ScanError(f"{opt.project}: --project is not a folder")
    deps, job_frames, groups = _scan_for_groups(scene, opt, config, progress, dependencies, scan)
    _add_inputs(deps, opt.inputs)
    deps = _checked_missing(scene, deps, opt.allow_missing)
    plan = make_plan(deps.scene or scene, job_frames, config, chunk=opt.chunk, place=opt.place or None,
                     renderer=opt.renderer, render_options=scene_options(deps, opt.render_options), scout=opt.scout,
                     post=opt.post, output_dir=opt.output_dir or None, name=opt.name, priority=opt.priority,
                     groups=groups)
    paths = sorted({d.path for d in deps.dependencies} | ({plan.scene} if Path(plan.scene).is_file() else set()))
    url, inputs = "", {"files": len(paths)}
    if any(n.place == "cloud" for n in plan.nodes):
        # A dry run never contacts the store: a TD must be able to look at a DAG offline.
        url, inputs = ((_store_url(opt.store_url, config), inputs) if opt.dry_run
                       else _resolve(paths, config, opt.store_url, progress))
    target = bundle_path(plan, config, root=opt.bundle_dir)  # a parent folder: the job id is the leaf
    sched = opt.scheduler or config["jobs"]["scheduler"]
    ready: List[str] = []
    if sched == "htcondor":  # refused before anything is written
        ready = check_cloud_ready([n.stage for n in plan.nodes if n.place == "cloud"], config, opt.store_url,
                                  opt.dry_run)
        if not opt.dry_run:
            check_pool_dir(target)
            check_pool_tools(str(config["jobs"].get("submit_with") or "auto"))  # before the bundle is written
    outputs = _output_dirs(deps, opt.output_dir or plan.output_dir, target)
    bundle = write_bundle(plan, config, str(target), store_url=url, inputs=inputs,
                          manifest={"scene": plan.scene, "files": paths}, output_dirs=outputs, progress=progress)
    out = SubmitResult(plan.job_id, str(bundle.path), str(bundle.dag), sched, opt.dry_run, inputs=inputs,
                       warnings=list(getattr(deps, "warnings", [])) + ready, output_dirs=list(outputs))
    if not opt.dry_run:
        sent = _submit_or_discard(bundle.path, sched, config, progress)
        out.cluster, out.local = sent.get("cluster"), sent.get("local")
    return out


def _submit_or_discard(bundle: Path, scheduler: str, config: Config,
                       progress: Optional[ProgressCallback]) -> Dict[str, Any]:
    """A pool that refuses the DAG (or is not there) leaves nothing behind: the bundle was written
    by this call, no registry entry names it, and the next Submit writes a fresh one."""
    from .jobs.submit import submit_bundle

    try:
        return submit_bundle(str(bundle), scheduler, config, progress)
    except SubmitError:
        if scheduler == "htcondor":
            shutil.rmtree(str(bundle), ignore_errors=True)
        raise
