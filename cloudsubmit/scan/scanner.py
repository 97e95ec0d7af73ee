"""``scan_scene``: read a scene with the reader for its format, follow references into the files
they name (cycle-safe, depth-limited), expand every value against disk for the chosen frames, and
return one de-duplicated :class:`DependencySet`.

Errors follow one rule: the scene the user named must be readable (else :class:`ScanError`, exit
2, one line naming the file); anything *inside* it that is missing or broken (a missing texture,
a corrupt referenced file, a format we have no reader for yet) is reported in the result, because
the artist needs the whole list at once, not the first problem."""
from __future__ import annotations

import importlib
import os
import posixpath
import re
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Set

from ..errors import CloudSubmitError, ScanError
from ..frames import compact, range_frames
from ..paths import normpath
from ..progress import ProgressCallback, ProgressReport, report
from .readers import READERS, host_extensions, scene_extension
from .expand import DirCache, FrameNumbers, expand_env, expand_value, folder_files, unshield
from .maya_project import MayaProject, find_project
from .maya_references import inherit, view_key
from .model import (Dependency, DependencySet, IncompleteScene, Output, RawRef, ReadContext, ReadResult, SceneInfo,
                    incomplete_reason)
from .texture_siblings import SiblingFinder

if TYPE_CHECKING:
    from ..config import Config

MAYA_EXTENSIONS = host_extensions("maya")
# Kinds a renderer may read from a converted file beside the source (.tx, .tex, .rstexbin).
TX_KINDS = frozenset(("texture", "image", "ies"))
# Kinds of followed files that name further files in a form no offline reader here can read
# (RenderMan RIB archives): the scan says so once per file instead of silently listing nothing.
OPAQUE_KINDS = frozenset(("archive",))
_PROGRESS_EVERY = 500
_SCENE_TOKEN_RE = re.compile(r"<scene>", re.I)
_WORKSPACE_TOKEN_RE = re.compile(r"<ws>", re.I)   # RenderMan for Maya: the Maya project's root
_ENV_KEY = "\x00cloudsubmit-scene-variables"


def reader_for(path: str):
    """The reader module for ``path``'s extension, imported on first use."""
    ext = scene_extension(path)
    module = READERS.get(ext)
    if module is None:
        known = ", ".join(sorted(READERS))
        raise ScanError(f"{path}: unknown scene format {ext or '(no extension)'!r} (known: {known})")
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ScanError(f"{path}: no reader for {ext} scenes is available ({module}: {exc})") from None


def read_file(path: str, ctx: ReadContext) -> ReadResult:
    """Run the reader; anything it raises becomes a one-line :class:`ScanError` naming the file."""
    reader = reader_for(path)
    try:
        return reader.read(path, ctx)
    except CloudSubmitError:
        raise
    except OSError as exc:
        raise ScanError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except Exception as exc:  # a corrupt file must not become a traceback
        raise ScanError(f"{path}: cannot read scene ({type(exc).__name__}: {exc})") from None


def _default_config():
    from ..config import Config, packaged_defaults

    return Config(packaged_defaults(), ["defaults"])


def scene_frames(info: SceneInfo) -> Optional[List[int]]:
    """The scene's own frame range, as integers (:func:`~cloudsubmit.frames.range_frames`), or
    ``None`` when it does not say."""
    if info.frame_start is None or info.frame_end is None:
        return None
    return range_frames(info.frame_start, info.frame_end, info.frame_step or 1)


def check_scene_file(scene: str) -> str:
    """The scene's normalised path, or one :class:`ScanError` every command shares: a folder or a
    name that is not there is never a scene (a job with no inputs would fail on the render node)."""
    top = normpath(scene)
    if os.path.isdir(top):
        raise ScanError(f"{scene}: is a folder, not a scene file")
    if not os.path.isfile(top):
        raise ScanError(f"{scene}: no such scene file" if not os.path.exists(top) else f"{scene}: not a file")
    return top


def scan_scene(
    scene: str,
    frames: Optional[Sequence[int]] = None,
    project: Optional[str] = None,
    config: Optional[Config] = None,
    env: Optional[Mapping[str, str]] = None,
    progress: Optional[ProgressCallback] = None,
) -> DependencySet:
    """Every file ``scene`` needs for ``frames`` (default: the scene's own range)."""
    cfg = config if config is not None else _default_config()
    environ = dict(os.environ if env is None else env)
    top = check_scene_file(scene)
    ctx = ReadContext(config=cfg, env=environ, frames=list(frames) if frames else None, project=project)
    result = read_file(top, ctx)
    if result.truncated_at is not None:  # a half-saved scene must not reach the farm
        raise IncompleteScene(f"{scene}: {incomplete_reason(result.truncated_at)}")
    return scan_result(top, result, frames, project, cfg, environ, progress)


def scan_result(
    top: str,
    result: ReadResult,
    frames: Optional[Sequence[int]] = None,
    project: Optional[str] = None,
    config: Optional[Config] = None,
    env: Optional[Mapping[str, str]] = None,
    progress: Optional[ProgressCallback] = None,
    maya: Optional[bool] = None,
) -> DependencySet:
    """Expand and follow what was already read of the top-level scene ``top``: by a reader, or
    by a live DCC session (``hosts.livescan``), so both walk references and expand tokens in the
    one same way. ``maya`` says whether Maya project rules apply (default: by extension)."""
    cfg = config if config is not None else _default_config()
    environ = dict(os.environ if env is None else env)
    ctx = ReadContext(config=cfg, env=environ, frames=list(frames) if frames else None, project=project)
    chosen = sorted(set(int(f) for f in frames)) if frames else scene_frames(result.info)
    is_maya = top.lower().endswith(MAYA_EXTENSIONS) if maya is None else maya
    maya_project = find_project(top, project) if is_maya else None
    if maya_project is not None:
        result.info.project = maya_project.root
    walk = _Walk(cfg, ctx, chosen, maya_project, progress)
    walk.add(top, os.path.isfile(top), "scene", "scene")
    walk.visit(top, result, 0)
    walk.env_ocio(top, environ)
    return DependencySet(
        scene=top, frames=compact(chosen) if chosen else "",
        dependencies=list(walk.deps.values()), outputs=list(walk.outputs.values()),
        warnings=list(dict.fromkeys(walk.warnings)), info=result.info,
    )


class _Walk:
    """One scan's shared state: the listing cache, what was read, what was found."""

    def __init__(self, cfg: Config, ctx: ReadContext, frames: Optional[List[int]],
                 project: Optional[MayaProject], progress: Optional[ProgressCallback]) -> None:
        self.ctx = ctx
        self.frames = FrameNumbers(frames) if frames is not None else None
        self.project = project
        self.progress = progress
        self.cache = DirCache()
        self.siblings = SiblingFinder(self.cache)
        self.deps: Dict[str, Dependency] = {}
        self.outputs: Dict[str, Output] = {}
        self.warnings: List[str] = []
        self.read: Set[str] = set()
        self.views: Dict[str, set] = {}   # path -> view keys it was read with (maya_references.view_key)
        self.refs_done = 0
        self.expansions: Dict[tuple, Any] = {}
        self.tx = bool(cfg.get("scan.tx_siblings", True))
        self.follow = bool(cfg.get("scan.follow_references", True))
        self.follow_deferred = bool(cfg.get("scan.follow_deferred_references", False))
        self.max_depth = int(cfg.get("scan.max_reference_depth", 32))

    def add(self, path: str, exists: bool, kind: str, source: str) -> None:
        if path not in self.deps:
            size = self.cache.size(path) if exists else None
            if exists and size is None:
                self.warnings.append(f"{source}: {path} is a folder, not a file")
            self.deps[path] = Dependency(path=path, exists=exists and size is not None, size=size, kind=kind, source=source)

    def visit(self, path: str, result: ReadResult, depth: int) -> None:
        self.read.add(path)
        self.warnings += result.warnings
        report(self.progress, ProgressReport(stage="scan", done=len(self.read), message=path))
        env = dict(self.ctx.env)
        env.update(result.info.variables)
        env[_ENV_KEY] = repr(sorted(result.info.variables.items()))  # part of the expansion cache key
        maya = path.lower().endswith(MAYA_EXTENSIONS)
        project = self.project if maya else None
        for ref in result.refs:
            self._tick()
            if ref.output:  # a referenced file's own render settings do not render here
                if depth == 0:
                    self._output(ref, path, env, project)
                continue
            files = self._expand(ref, posixpath.dirname(path), env, project)
            if ref.follow and self.follow:
                self._follow(ref, files, depth)

    def env_ocio(self, top: str, env: Mapping[str, str]) -> None:
        """When no scene names a colour config, ``$OCIO`` does: Maya, Houdini, Arnold and Nuke all
        load it, so the render needs that config and its search_path files like a named one."""
        value = str(env.get("OCIO") or "").strip()
        if not value or value.startswith("ocio://") or any(d.kind == "ocio" for d in self.deps.values()):
            return
        ref = RawRef(value=value, source="$OCIO", kind="ocio", follow=True)
        self._follow(ref, self._expand(ref, posixpath.dirname(top), env, None), 0)

    def _tick(self) -> None:
        self.refs_done += 1
        if self.refs_done % _PROGRESS_EVERY == 0:
            report(self.progress, ProgressReport(stage="scan", done=len(self.read), message=f"{self.refs_done} references"))

    def _numbers(self, ref: RawRef) -> Optional[FrameNumbers]:
        """The file numbers ``ref`` may take, sharing the scan's one set of frames: memory grows
        with the files found, never with references x frames."""
        if ref.sequence and ref.frame_value is not None:
            return FrameNumbers((int(round(ref.frame_value)) + ref.frame_offset,))
        if self.frames is None:
            return None
        return self.frames.shifted(ref.frame_offset) if ref.frame_offset else self.frames

    def _expand(self, ref: RawRef, base: str, env: Mapping[str, str], project: Optional[MayaProject]) -> List[Any]:
        numbers = self._numbers(ref)
        frames_key = None if numbers is None else (numbers.key if len(numbers) > 1 else tuple(numbers))
        key = (ref.value, ref.base_dir or base, frames_key, ref.tiling, ref.sequence,
               ref.kind, ref.folder, project is not None, env.get(_ENV_KEY))
        exp = self.expansions.get(key)
        if exp is None:  # scenes reuse the same texture on many nodes: expand each value once
            rule_dirs = project.rule_dirs(ref.kind) if project else ()
            root = project.root if project else None
            if ref.folder:
                exp = folder_files(ref.value, base_dir=ref.base_dir or base, env=env, project=root, rule_dirs=rule_dirs)
            else:
                exp = expand_value(ref.value, base_dir=ref.base_dir or base, numbers=numbers, cache=self.cache, env=env,
                                   project=root, rule_dirs=rule_dirs, tiling=ref.tiling, sequence=ref.sequence)
            self.expansions[key] = exp
        self.warnings += [f"{ref.source}: {w}" for w in exp.warnings]
        for p, ok in exp.files:
            if ref.optional and not ok:
                continue
            self.add(p, ok, ref.kind, ref.source)
            if ok and self.tx and ref.kind in TX_KINDS and not ref.folder:
                for sibling in self.siblings.siblings(p):
                    self.add(sibling, True, ref.kind, ref.source)
        return exp.files

    def _output(self, ref: RawRef, path: str, env: Mapping[str, str], project: Optional[MayaProject]) -> None:
        text, _ = expand_env(ref.value, env)
        if ref.kind == "render":  # Maya's prefix token for the scene name (and RfM's <ws>); the others stay
            scene_name, workspace = posixpath.splitext(posixpath.basename(path))[0], project.root if project else posixpath.dirname(path)
            text = _SCENE_TOKEN_RE.sub(lambda _m: scene_name, text)
            text = _WORKSPACE_TOKEN_RE.sub(lambda _m: workspace, text)
        base = ref.base_dir or (project.images_dir if project and ref.kind == "render" else posixpath.dirname(path))
        out = unshield(normpath(text, base))
        self.outputs.setdefault(out, Output(path=out, source=ref.source))

    def _follow(self, ref: RawRef, files: List[Any], depth: int) -> None:
        if ref.deferred and not self.follow_deferred:
            self.warnings.append(f"{ref.source}: reference {ref.value} is unloaded (deferred); its contents were not scanned")
            return
        view = view_key(ref)
        for p, ok in files:
            if ok and scene_extension(p) not in READERS and ref.kind in OPAQUE_KINDS:
                self.warnings.append(f"{ref.source}: {p} cannot be read offline; the files it names are not listed")
            if not ok or scene_extension(p) not in READERS or (p in self.read and view in self.views.get(p, {""})):
                continue
            if depth + 1 > self.max_depth:
                self.warnings.append(f"{p}: not read, references nest deeper than {self.max_depth} (scan.max_reference_depth)")
                continue
            self.views.setdefault(p, set()).add(view)
            try:
                child = read_file(p, self.ctx)
            except IncompleteScene as exc:
                child = ReadResult(warnings=[exc.message], truncated_at=self.cache.size(p))
            except ScanError as exc:
                self.read.add(p)
                self.warnings.append(exc.message)
                continue
            if child.truncated_at is not None and p in self.deps:  # scan what is there; the render cannot use it
                self.deps[p].problem = incomplete_reason(child.truncated_at)
            child.refs = inherit(child.refs, ref)
            self.visit(p, child, depth + 1)
