"""``cloudsubmit stage render``: render one chunk.

On a cloud node: materialise the job's inputs from the store (node cache + links), tell the host
where the studio paths now live (Maya ``dirmap`` before the scene opens, ``HOUDINI_PATHMAP``,
``ARNOLD_PATHMAP``), run the renderer for the chunk's frames, and upload what it wrote. On a local
node the scene is rendered in place and the outputs are already home."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Sequence, Tuple

from ..errors import ConfigError
from ..frames import compact
from ..jobs.tables import expand_command, renderer_for
from .common import StageContext, mapping_rules, run_command, run_stage, scene_tokens

if TYPE_CHECKING:
    from ..store.pathmap import Rule


def frame_runs(frames: Sequence[int]) -> List[Tuple[int, int, int]]:
    """``(start, end, step)`` runs covering ``frames`` exactly: a chunk around a scout frame is
    not one arithmetic range, and ``Render -s -e -b`` only takes ranges."""
    runs: List[Tuple[int, int, int]] = []
    fs = sorted(frames)
    i = 0
    while i < len(fs):
        if i + 1 == len(fs):
            runs.append((fs[i], fs[i], 1))
            break
        step = fs[i + 1] - fs[i]
        j = i + 1
        while j + 1 < len(fs) and fs[j + 1] - fs[j] == step:
            j += 1
        runs.append((fs[i], fs[j], step))
        i = j + 1
    return runs


def mel_string(value: str) -> str:
    """A MEL string literal (``dirmap -m "from" "to"``)."""
    if "\n" in value or "\r" in value:
        raise ConfigError(f"path mapping {value!r}: a newline cannot be written into MEL")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def host_mapping(kind: str, rules: Sequence[Rule], workdir: Path) -> Dict[str, str]:
    """Environment variables that give the host the path mapping before the scene loads."""
    if not rules or kind == "none":
        return {}
    if kind == "maya":
        folder = workdir / "maya_pathmap"
        folder.mkdir(parents=True, exist_ok=True)
        lines = ["dirmap -en true;"] + [f"dirmap -m {mel_string(a)} {mel_string(b)};" for a, b in rules]
        (folder / "userSetup.mel").write_text("\n".join(lines) + "\n", encoding="utf-8")
        old = os.environ.get("MAYA_SCRIPT_PATH", "")
        return {"MAYA_SCRIPT_PATH": str(folder) + (os.pathsep + old if old else "")}
    if kind == "houdini":
        return {"HOUDINI_PATHMAP": json.dumps(dict(rules))}
    if kind == "arnold":
        (workdir / "pathmap").mkdir(parents=True, exist_ok=True)
        path = workdir / "pathmap" / "arnold_pathmap.json"  # a subfolder: not sent back by HTCondor
        table = dict(rules)
        path.write_text(json.dumps({"linux": table, "windows": table, "mac": table}), encoding="utf-8")
        return {"ARNOLD_PATHMAP": str(path)}
    raise ConfigError(f"renderer path_mapping {kind!r}: expected maya, houdini, arnold or none")


def _tokens(ctx: StageContext, scene: str, out_dir: str) -> Dict[str, str]:
    frames = ctx.node.frames
    tokens = dict(scene_tokens(ctx, scene, frames), frame_list=",".join(str(f) for f in frames),
                  output_dir=out_dir, output="", python=sys.executable, renderer="", layer="", camera="",
                  project="", rop="")
    tokens.update(ctx.plan.render_options)
    tokens.update(ctx.node.options)  # a render group's layer/camera/ROP
    return tokens


def commands(ctx: StageContext, spec: Mapping[str, Any], tokens: Dict[str, str]) -> List[List[str]]:
    """argv per invocation: one per frame for per-frame renderers, one per frame run otherwise."""
    out = []
    what = f"renderer {ctx.plan.renderer}"
    if spec.get("per_frame"):
        for f in ctx.node.frames:
            scene = _pad_hashes(tokens["scene"], f)
            t = dict(tokens, scene=scene, frame=str(f), start=str(f), end=str(f), step="1", count="1")
            out.append(expand_command(spec["command"], t, what))
        return out
    for start, end, step in frame_runs(ctx.node.frames):
        count = (end - start) // step + 1
        t = dict(tokens, start=str(start), end=str(end), step=str(step), count=str(count), frame=str(start))
        out.append(expand_command(spec["command"], t, what))
    return out


def _pad_hashes(path: str, frame: int) -> str:
    import re

    return re.sub(r"#+", lambda m: f"{frame:0{len(m.group())}d}", path)


def _materialise(ctx: StageContext, store: Any) -> List[Rule]:
    from ..store.layouts import materialise_job

    rep = materialise_job(store.backend, ctx.plan.job_id, str(ctx.workdir / "session"), ctx.config)
    ctx.log(f"materialised {rep.files} files ({rep.blobs_fetched} fetched, {rep.blobs_cached} from the node cache)")
    return [(src, dst) for src, dst in rep.rules]


def body(ctx: StageContext) -> Dict[str, Any]:
    from ..store.pathmap import map_path

    kind, spec = renderer_for(ctx.plan.scene, ctx.plan.renderer, ctx.config)
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    cloud = ctx.node.place == "cloud" and bool(ctx.store_url)
    store = None
    if cloud:
        from ..store import open_store

        store = open_store(ctx.store_url, ctx.config)
    try:
        extra = _materialise(ctx, store) if cloud else []
        declared = ctx.output_dirs()
        if cloud:  # outputs outside every materialised root go to scratch, then up to the store
            extra += [(d, str(ctx.workdir / "out" / str(i))) for i, d in enumerate(declared)
                      if map_path(d, extra) == map_path(d, [])]
        rules = mapping_rules(ctx, extra) if cloud else []  # a local node sees the studio's paths
        out_dirs = [map_path(d, rules) for d in declared]
        for d in out_dirs:
            Path(d).mkdir(parents=True, exist_ok=True)
        scene = map_path(ctx.plan.scene, rules)
        env = dict(os.environ, **host_mapping(spec.get("path_mapping", "none"), rules, ctx.workdir))
        before = _snapshot(declared, rules) if cloud else None
        runs = commands(ctx, spec, _tokens(ctx, scene, out_dirs[0]))
        for argv in runs:
            run_command(ctx, argv, env, scene)
        result: Dict[str, Any] = {"frames": compact(ctx.node.frames), "commands": len(runs), "outputs": out_dirs}
        if store is not None:   # a cloud node
            from ..store.outputs import upload_outputs

            rep = upload_outputs(store.backend, ctx.plan.job_id, ctx.node.name, declared, rules=rules,
                                 before=before, threads=store.threads)
            ctx.log(f"uploaded {rep.uploaded_files} output files ({rep.uploaded_bytes} bytes)")
            result.update(uploaded_files=rep.uploaded_files, uploaded_bytes=rep.uploaded_bytes)
        return result
    finally:
        if store is not None:
            store.close()
            _cleanup(ctx)


def _cleanup(ctx: StageContext) -> None:
    """The session only holds links into the node cache and this chunk's frames (uploaded by
    now): remove it so a 1,000-chunk job does not fill the node's disk."""
    from ..store.materialise import remove_session

    for name in ("session", "out"):
        if (ctx.workdir / name).is_dir():
            remove_session(str(ctx.workdir / name))
    try:
        ctx.workdir.rmdir()  # only when nothing else (a path-mapping file) is left in it
    except OSError:
        pass


def _snapshot(declared: List[str], rules: List[Rule]) -> Any:
    from ..store.outputs import snapshot

    return snapshot(declared, rules)


def main(ref: str, node: str) -> int:
    return run_stage("render", ref, node, body)
