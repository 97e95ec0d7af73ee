"""What scanning produces. Readers emit :class:`RawRef` (a value as written in the scene, plus
where it came from); the expander turns them into :class:`Dependency` (real files on disk for the
chosen frames) collected in a :class:`DependencySet`."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, List, Mapping, Optional, Tuple

from ..errors import ScanError

if TYPE_CHECKING:
    from ..config import Config


class IncompleteScene(ScanError):
    """A scene file that ends early (a half-saved or half-copied file). Its own class so the
    scanner can tell "cut short" (the render would fail on the farm) from "no reader here"."""


def incomplete_reason(size: Optional[int]) -> str:
    """What an artist sees for a cut-short scene (after the file's name)."""
    at = f" (truncated at byte {size}?)" if size is not None else " (truncated?)"
    return f"the scene file is incomplete{at}; was it still being saved?"


@dataclass
class LoadState:
    """What a Maya scene records about a reference it holds (its ``file -rdi`` line): whether it
    is unloaded, and the same for the references nested inside it, by reference node name (the
    last namespace part: ``set:lampRN`` is ``lampRN`` in the set's own file). Maya applies the
    referencing scene's table, not the referenced file's own, so the scanner does too."""

    unloaded: bool = False
    nested: Dict[str, "LoadState"] = field(default_factory=dict)


@dataclass
class RawRef:
    """One file reference as the scene writes it.

    ``value`` may hold env vars, project-relative paths and tokens (``<UDIM>``, ``#``, ``$F4``).
    ``source`` names the node and attribute/parameter (``file1.fileTextureName``,
    ``/obj/geo1/file1.file``). ``follow`` asks the scanner to read the referenced file too
    (Maya references, USD layers, .ass procedurals). ``output`` marks render outputs: reported,
    never uploaded."""

    value: str
    source: str
    kind: str = "file"
    node_type: str = ""
    base_dir: str = ""           # folder a relative value is relative to (default: the scene's)
    sequence: bool = False       # the node reads one file per frame (Maya useFrameExtension, $F)
    frame_offset: int = 0        # Maya frameOffset
    frame_value: Optional[float] = None  # Maya frameExtension when static
    tiling: str = ""             # "udim", "uvtile", "" (Maya uvTilingMode as a name)
    output: bool = False
    follow: bool = False
    deferred: bool = False       # an unloaded Maya reference (-dr 1): still needed, flagged
    optional: bool = False       # a sibling such as .tx: listed only when it exists
    folder: bool = False         # the value is a folder: every file under it is needed (XGen data, Yeti search paths)
    # Maya references only: the namespace (-ns), the load states of the references inside the
    # referenced file, and the "node.attr" values inside it that reference edits re-point (the
    # edit wins, so the file's own value is not needed).
    namespace: str = ""
    nested: Optional[Dict[str, LoadState]] = None   # None, not {}: 10^5 texture refs need no dict each
    overridden: FrozenSet[str] = frozenset()


@dataclass
class SceneInfo:
    """What a reader learned about the scene itself, for the panel's defaults."""

    frame_start: Optional[float] = None
    frame_end: Optional[float] = None
    frame_step: Optional[float] = None
    renderer: str = ""
    cameras: List[str] = field(default_factory=list)
    layers: List[str] = field(default_factory=list)   # renderable Maya render layers (renderLayer node names)
    rops: List[str] = field(default_factory=list)     # Houdini output drivers
    project: str = ""                                 # Maya project root, if found
    variables: Dict[str, str] = field(default_factory=dict)  # $HIP, $JOB, ... from the scene
    # Per layer (Maya render layer or Houdini ROP): its own (start, end, step) where render setup
    # or the ROP overrides the scene's; Maya: the image paths each layer writes, as its prefix names
    # them (relative to the images folder, <Scene> still a token), and its renderable cameras.
    layer_frames: Dict[str, Tuple[float, float, float]] = field(default_factory=dict)
    layer_outputs: Dict[str, List[str]] = field(default_factory=dict)
    layer_cameras: Dict[str, List[str]] = field(default_factory=dict)   # Maya: renderable cameras per layer


@dataclass
class ReadResult:
    """A reader's answer for one file."""

    refs: List[RawRef] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    info: SceneInfo = field(default_factory=SceneInfo)
    # Set by a reader that found the file cut short: its size in bytes (where it ends). The
    # top-level scene then fails the scan; a referenced file is listed with a ``problem``.
    truncated_at: Optional[int] = None


@dataclass
class Dependency:
    path: str            # absolute, normalised, forward slashes
    exists: bool
    size: Optional[int]
    kind: str
    source: str
    # Why an existing file cannot be used as it is (a referenced scene cut short); like a
    # missing file, it makes ``submit`` refuse unless --allow-missing.
    problem: str = ""

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass
class Output:
    path: str
    source: str

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass
class DependencySet:
    scene: str
    frames: str                                     # compact fileseq spec, "" when not limited
    dependencies: List[Dependency] = field(default_factory=list)
    outputs: List[Output] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    info: SceneInfo = field(default_factory=SceneInfo)

    @property
    def missing(self) -> List[Dependency]:
        return [d for d in self.dependencies if not d.exists]

    @property
    def problems(self) -> List[Dependency]:
        """Files a render cannot use: missing, or present but unusable (``problem``)."""
        return [d for d in self.dependencies if not d.exists or d.problem]

    def totals(self) -> Tuple[int, int, int]:
        """(files, bytes of existing files, missing files)."""
        return (
            len(self.dependencies),
            sum(d.size or 0 for d in self.dependencies if d.exists),
            sum(1 for d in self.dependencies if not d.exists),
        )

    def to_dict(self) -> Dict[str, Any]:
        return {
            "scene": self.scene,
            "frames": self.frames,
            "dependencies": [d.to_dict() for d in self.dependencies],
            "outputs": [o.to_dict() for o in self.outputs],
            "warnings": list(self.warnings),
        }


@dataclass
class ReadContext:
    """What a reader may consult. Readers never touch os.environ directly, so tests and the
    headless CLI control the environment a scene is resolved in."""

    config: Optional[Config] = None                        # cloudsubmit.config.Config, or None for defaults
    env: Mapping[str, str] = field(default_factory=dict)
    frames: Optional[List[int]] = None        # chosen frames; None = the scene's own range
    project: Optional[str] = None             # Maya project root given by the user
