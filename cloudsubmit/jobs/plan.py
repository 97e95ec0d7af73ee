"""A job as plain data: scene, frames, chunks, stages placed local or cloud, renderer template.

Nothing here knows HTCondor; :mod:`cloudsubmit.jobs.bundle` turns a :class:`JobPlan` into files
and :mod:`cloudsubmit.jobs.local_runner` runs them. Keeping the plan pure makes it cheap to test
and cheap to build (1,000 render nodes in milliseconds)."""
from __future__ import annotations

import copy
import datetime as _dt
import getpass
import os
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence

from ..errors import ConfigError
from ..frames import chunk as chunk_frames
from ..frames import compact, scout_frames
from ..paths import normpath
from ..vocabulary import CORE_STAGES
from .tables import renderer_for, required_tokens

if TYPE_CHECKING:
    from ..config import Config

_SAFE_RE = re.compile(r"[^A-Za-z0-9]+")
_STAGE_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")


@dataclass
class PlanNode:
    """One DAG node: a stage, where it runs, which frames (render only), whom it waits for."""

    name: str
    stage: str                     # upload | render | download | post
    place: str                     # local | cloud
    frames: List[int] = field(default_factory=list)
    parents: List[str] = field(default_factory=list)
    retry: int = 0
    category: str = ""             # transfer | render | post (throttled with MAXJOBS)
    post: str = ""                 # the post stage's name
    scout: bool = False
    group: str = ""                # render groups: the layer/camera/ROP this node renders ("" = the job's)
    options: Dict[str, str] = field(default_factory=dict)  # its renderer tokens over plan.render_options


@dataclass
class JobPlan:
    job_id: str
    scene: str
    frames: List[int]
    chunk: int
    renderer: str
    render_options: Dict[str, str]
    place: Dict[str, str]
    scout: bool
    post: List[Dict[str, Any]]
    output_dir: str = ""
    name: str = ""                 # the artist's job name (HTCondor batch name); "" = the job id
    priority: int = 0              # HTCondor job priority of every node
    user: str = ""
    created: str = ""
    nodes: List[PlanNode] = field(default_factory=list)

    @property
    def render_nodes(self) -> List[PlanNode]:
        return [n for n in self.nodes if n.stage == "render"]

    def node(self, name: str) -> PlanNode:
        for n in self.nodes:
            if n.name == name:
                return n
        raise ConfigError(f"job {self.job_id}: no node named {name!r}")

    def to_dict(self) -> Dict[str, Any]:
        """Plain data for job.json (built by hand: ``asdict`` deep-copies 1,000 nodes slowly)."""
        d = {k: v for k, v in self.__dict__.items() if k != "nodes"}
        d = copy.deepcopy(d)
        d["nodes"] = [dict(n.__dict__, frames=list(n.frames), parents=list(n.parents), options=dict(n.options))
                      for n in self.nodes]
        d["frames_spec"] = compact(self.frames)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "JobPlan":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["nodes"] = [PlanNode(**n) for n in data.get("nodes", [])]
        return cls(**known)


def make_job_id(scene: str, now: Optional[_dt.datetime] = None, label: str = "") -> str:
    """``20261128T152000Z-shot010-1a2b3c``: sorts by submit time, unique without coordination,
    and safe as a DAG node name, a file name and an S3 key on every platform."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    stem = label or os.path.splitext(os.path.basename(scene))[0]
    safe = _SAFE_RE.sub("_", stem.encode("ascii", "ignore").decode()).strip("_")[:32] or "scene"
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{safe}-{secrets.token_hex(3)}"


def parse_place(items: Sequence[str]) -> Dict[str, str]:
    """``["render=cloud", "upload=local"]`` -> ``{"render": "cloud", ...}`` (the ``--place`` flag)."""
    out: Dict[str, str] = {}
    for item in items:
        stage, sep, where = item.partition("=")
        if not sep or not stage.strip():
            raise ConfigError(f"--place {item}: expected STAGE=local|cloud")
        out[stage.strip()] = where.strip()
    return out


def _check_place(place: Mapping[str, str], post: Sequence[Mapping[str, Any]]) -> None:
    """Placement from config and ``--place`` obeys the same rules (``jobs.place.<stage>``)."""
    from ..config_rules import check_setting

    posts = [str(p.get("name")) for p in post]
    for stage, where in place.items():
        if stage not in CORE_STAGES and stage not in posts:
            raise ConfigError(f"--place {stage}={where}: unknown stage {stage!r} "
                              f"(stages: {', '.join(list(CORE_STAGES) + posts)})")
        check_setting(f"jobs.place.{stage}", where, "--place")


def _check_post(post: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    out = []
    for i, p in enumerate(post):
        if not isinstance(p, Mapping):
            raise ConfigError(f"jobs.post[{i}]: expected a mapping with name, place, command")
        name = str(p.get("name", ""))
        if not _STAGE_NAME_RE.fullmatch(name) or name in CORE_STAGES:
            raise ConfigError(f"jobs.post[{i}].name: {name!r} must be lower-case letters, digits, '_'")
        cmd = p.get("command")
        if not isinstance(cmd, list) or not cmd or not all(isinstance(c, str) for c in cmd):
            raise ConfigError(f"jobs.post[{i}].command: expected a non-empty list of strings")
        out.append({"name": name, "place": str(p.get("place", "local")), "command": list(cmd)})
    return out


@dataclass
class RenderGroup:
    """One layer/camera/ROP of a job: its own frames and renderer tokens (``{"layer": "fg"}``)."""

    label: str
    frames: List[int]
    options: Dict[str, str] = field(default_factory=dict)


def _render_nodes(frames: List[int], size: int, scout: bool, retry: int, place: str,
                  group: Optional[RenderGroup] = None) -> List[PlanNode]:
    scouts = scout_frames(frames) if scout and len(frames) > 3 else []
    rest = [f for f in frames if f not in set(scouts)]
    chunks = chunk_frames(rest, size) if rest else []
    width = max(4, len(str(len(chunks))))
    label, options = (group.label, dict(group.options)) if group else ("", {})
    tag = f"{_SAFE_RE.sub('_', label).strip('_')}_" if label else ""
    nodes = [PlanNode(f"render_{tag}s{f}", "render", place, [f], [], retry, "render", scout=True, group=label,
                      options=dict(options)) for f in scouts]
    scout_names = [n.name for n in nodes]
    for i, frs in enumerate(chunks, 1):
        nodes.append(PlanNode(f"render_{tag}{i:0{width}d}", "render", place, frs, list(scout_names), retry, "render",
                              group=label, options=dict(options)))
    return nodes


def check_groups(groups: Sequence[RenderGroup]) -> List[RenderGroup]:
    """Groups with frames, and labels that stay distinct as node names (``fg-1`` and ``fg_1``
    would both be ``render_fg_1_0001``)."""
    seen: Dict[str, str] = {}
    out = []
    for g in groups:
        tag = _SAFE_RE.sub("_", g.label).strip("_")
        if not tag or tag in seen:
            what = f"is the same node name as {seen[tag]!r}" if tag in seen else "needs letters or digits"
            raise ConfigError(f"render group {g.label!r} {what}")
        seen[tag] = g.label
        frames = sorted(set(int(f) for f in g.frames))
        if not frames:
            raise ConfigError(f"render group {g.label!r}: no frames to render")
        out.append(RenderGroup(g.label, frames, {k: str(v) for k, v in g.options.items()}))
    return out


def _link(nodes: List[PlanNode], parents: List[str]) -> None:
    for n in nodes:
        if not n.parents:
            n.parents = list(parents)


def build_nodes(frames: List[int], size: int, place: Mapping[str, str], scout: bool,
                post: Sequence[Mapping[str, Any]], retry: Mapping[str, int],
                groups: Sequence[RenderGroup] = ()) -> List[PlanNode]:
    """The node list in DAG order. Upload and download exist only when render runs in the cloud.
    With ``groups`` each group gets its own render nodes (and scout frames), all after the one
    upload and before the one download."""
    cloud = place["render"] == "cloud"
    nodes: List[PlanNode] = []
    tail: List[str] = []
    if cloud:
        nodes.append(PlanNode("upload", "upload", place["upload"], [], [], int(retry.get("upload", 0)), "transfer"))
        tail = ["upload"]
    renders = [n for g in groups for n in _render_nodes(g.frames, size, scout, int(retry.get("render", 0)),
                                                        place["render"], g)] if groups else \
        _render_nodes(frames, size, scout, int(retry.get("render", 0)), place["render"])
    _link(renders, tail)
    nodes.extend(renders)
    tail = [n.name for n in renders]
    if cloud:
        nodes.append(PlanNode("download", "download", place["download"], [], tail,
                              int(retry.get("download", 0)), "transfer"))
        tail = ["download"]
    for p in post:
        name = f"post_{p['name']}"
        nodes.append(PlanNode(name, "post", place.get(p["name"], p["place"]), [], tail,
                              int(retry.get("post", 0)), "post", post=p["name"]))
        tail = [name]
    return nodes


def make_plan(scene: str, frames: Sequence[int], config: Config, *, chunk: Optional[int] = None,
              place: Optional[Mapping[str, str]] = None, renderer: Optional[str] = None,
              render_options: Optional[Mapping[str, str]] = None, scout: Optional[bool] = None,
              post: Optional[Sequence[Mapping[str, Any]]] = None, output_dir: Optional[str] = None,
              job_id: Optional[str] = None, name: str = "", priority: int = 0,
              groups: Sequence[RenderGroup] = ()) -> JobPlan:
    """Build the plan from the scene, frames and config; explicit arguments win over config.
    ``groups`` (several layers, cameras or ROPs) replace ``frames`` with each group's own."""
    jobs = config["jobs"]
    size = int(chunk if chunk is not None else jobs["chunk"])
    if size < 1:
        raise ConfigError(f"chunk size must be at least 1, got {size}")
    render_groups = check_groups(groups)
    frame_list = sorted({f for g in render_groups for f in g.frames} or set(int(f) for f in frames))
    if not frame_list:
        raise ConfigError("no frames to render")
    post_list = _check_post(post if post is not None else jobs["post"])
    placement = dict(jobs["place"])
    placement.update(place or {})
    _check_place(placement, post_list)
    scene_abs = normpath(scene)
    kind, spec = renderer_for(scene_abs, renderer or jobs["renderer"] or "", config)
    options = {k: str(v) for k, v in dict(jobs["render_options"], **(render_options or {})).items()}
    given = [dict(options, **g.options) for g in render_groups] or [options]
    missing = [t for t in required_tokens(spec.get("command") or []) if not all(o.get(t) for o in given)]
    if missing:
        raise ConfigError(f"renderer {kind} needs {', '.join(missing)}: give --option {missing[0]}=... "
                          f"(or jobs.render_options.{missing[0]})")
    use_scout = bool(jobs["scout"] if scout is None else scout)
    nodes = build_nodes(frame_list, size, placement, use_scout, post_list, jobs["retry"], render_groups)
    return JobPlan(
        job_id=job_id or make_job_id(scene_abs, label=name), scene=scene_abs, frames=frame_list, chunk=size,
        renderer=kind, render_options=options, place=placement, scout=use_scout, post=post_list,
        output_dir=output_dir if output_dir is not None else jobs["output_dir"],
        name=str(name or ""), priority=int(priority or 0), user=_user(), created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        nodes=nodes,
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers): the plan still works
        return ""
