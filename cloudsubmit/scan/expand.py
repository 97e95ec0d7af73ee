"""Turn a value as written in a scene into the files it means on disk, for the chosen frames.

Pure functions plus one small cache; no reader-specific code. The order follows the DCCs:
environment variables, then candidate locations (as written, the Maya project forms, the scene
folder), then tokens (``<UDIM>``, ``u<U>_v<V>``, ``<f>``, ``####``, ``%04d``, ``$F4``) matched
against **one directory listing per folder**, never a stat per tile or frame: a 1000-frame
sequence on a network share costs one ``listdir``, not 1000 round trips."""
from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from typing import Collection, Dict, FrozenSet, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

from ..paths import expand_vars, is_absolute, normpath, to_posix

# Values that point inside a DCC install: present on every render node, never uploaded.
INSTALL_PREFIXES = ("<MAYA_RESOURCES>", "$MAYA_LOCATION", "${MAYA_LOCATION}", "$HFS", "${HFS}", "$HH", "${HH}")

# Movie containers: a Maya "image sequence" flag on these means frames inside one file.
MOVIE_EXTENSIONS = frozenset((".mov", ".mp4", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".gif"))

# Houdini frame variables look like environment variables; shield them before expand_vars.
_HOUDINI_FRAME_RE = re.compile(r"\$\{F(\d*)\}|\$F(\d*)(?![A-Za-z_])")
_SHIELD = "\x00F{}\x00"
_SHIELD_RE = re.compile("\x00F(\\d*)\x00")

# Every token we expand. Tile tokens first so ``<U>`` is not read as something else.
_TOKEN_RE = re.compile(
    r"(?P<udim>(?i:<udim>))"
    r"|(?P<uvtile>(?i:<uvtile>|_?<tile>)|u<U>_v<V>)"
    r"|(?P<uv>(?i:<[uv]tile>)|<[UV]>)"
    r"|(?P<frame>(?i:<f(?P<fpad>\d*)>|<frame>)"
    r"|\x00F(?P<hpad>\d*)\x00"
    r"|(?P<hashes>#+)|(?P<ats>@+)"
    r"|%(?:0?(?P<ppad>\d+))?d)"
    r"|(?P<other><[A-Za-z][^<>/]*>)"
)
_UV_TOKENS = ("udim", "uvtile", "uv")
_UNRESOLVED_VAR_RE = re.compile(r"\$\{(\w+)\}|\$(\w+)|%(\w+)%")
_LAST_NUMBER_RE = re.compile(r"(\d+)(?!.*\d)")
_UDIM_NUMBER_RE = re.compile(r"(?<!\d)(1\d{3})(?!\d)(?!.*(?<!\d)1\d{3}(?!\d))")
_UV_NUMBER_RE = re.compile(r"_?u\d+_v\d+(?!.*u\d+_v\d+)")


class DirCache:
    """Directory listings, read once per folder and shared by every reference in a scan."""

    def __init__(self) -> None:
        self._listings: Dict[str, Optional[FrozenSet[str]]] = {}
        self._sizes: Dict[str, Optional[int]] = {}

    def names(self, folder: str) -> FrozenSet[str]:
        """Entries of ``folder``; empty when it does not exist or cannot be read."""
        listing = self._listings.get(folder, None)
        if folder not in self._listings:
            try:
                listing = frozenset(os.listdir(folder))
            except (OSError, ValueError):  # ValueError: a NUL byte from a shielded token
                listing = None
            self._listings[folder] = listing
        return listing or frozenset()

    def exists(self, path: str) -> bool:
        folder, name = posixpath.split(path)
        return bool(name) and name in self.names(folder or "/")

    def size(self, path: str) -> Optional[int]:
        """Size in bytes of an existing file (one stat, cached); ``None`` if it is not a file."""
        if path not in self._sizes:
            try:
                st = os.stat(path)
                self._sizes[path] = st.st_size if not os.path.isdir(path) else None
            except (OSError, ValueError):
                self._sizes[path] = None
        return self._sizes[path]


class FrameNumbers(Collection[int]):
    """File numbers a frame token may take: the chosen frames shifted by a reference's offset.

    Every reference of a scan shares one sorted tuple and one set of the frames, so 2,000
    textures at 20,000 frames hold the frames once, not 2,000 times, and a value without frame
    tokens never looks at them. ``key`` is a small hashable stand-in for expansion caches."""

    __slots__ = ("_frames", "_set", "offset")

    def __init__(self, frames: Iterable[int], offset: int = 0) -> None:
        self._frames: Tuple[int, ...] = tuple(sorted(set(int(f) for f in frames)))
        self._set: FrozenSet[int] = frozenset(self._frames)
        self.offset = offset

    def shifted(self, offset: int) -> "FrameNumbers":
        """The same frames moved by ``offset`` (sharing them, nothing copied)."""
        out = FrameNumbers.__new__(FrameNumbers)
        out._frames, out._set, out.offset = self._frames, self._set, self.offset + offset
        return out

    @property
    def key(self) -> Tuple[int, int, int]:
        return (id(self._frames), len(self._frames), self.offset)

    def __iter__(self) -> Iterator[int]:
        off = self.offset
        return iter(self._frames) if not off else (f + off for f in self._frames)

    def __contains__(self, number: object) -> bool:
        return isinstance(number, int) and (number - self.offset) in self._set

    def __len__(self) -> int:
        return len(self._frames)


def _number_set(numbers: Iterable[int]) -> Collection[int]:
    return numbers if isinstance(numbers, FrameNumbers) else frozenset(numbers)


@dataclass
class Expansion:
    """What one value means: files (path, exists) and why anything looks odd."""

    files: List[Tuple[str, bool]] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)


def is_install_path(value: str) -> bool:
    """True for values inside the DCC install (OCIO configs in ``<MAYA_RESOURCES>``, ``$HFS``)."""
    return value.strip().startswith(INSTALL_PREFIXES)


def shield_houdini_frames(value: str) -> str:
    """``$F4``/``${F}`` become private markers so ``expand_vars`` leaves them for the frames."""
    return _HOUDINI_FRAME_RE.sub(lambda m: _SHIELD.format(m.group(1) or m.group(2) or ""), value)


def unshield(value: str) -> str:
    """Show a shielded value the way the artist wrote it (``$F4``)."""
    return _SHIELD_RE.sub(lambda m: "$F" + m.group(1), value)


def expand_env(value: str, env: Mapping[str, str]) -> Tuple[str, List[str]]:
    """Expand environment variables; returns the value and the names that were not set."""
    out = expand_vars(shield_houdini_frames(value), env)
    unknown = [m.group(1) or m.group(2) or m.group(3) for m in _UNRESOLVED_VAR_RE.finditer(out)]
    return out, unknown


def has_tokens(value: str) -> bool:
    return bool(_TOKEN_RE.search(value))


def apply_tiling(path: str, tiling: str) -> str:
    """Maya stores one tile's name (``tex.1001.exr``) with ``uvTilingMode`` set; make it a pattern.

    ``tiling`` is ``udim`` (Mari), ``zbrush``/``mudbox``/``uvtile`` (``u1_v1``) or empty."""
    folder, base = posixpath.split(path)
    if not tiling or _has_tile_token(base):
        return path
    if tiling == "udim":
        base = _UDIM_NUMBER_RE.sub("<UDIM>", base, count=1)
    elif tiling in ("zbrush", "mudbox", "uvtile"):
        base = _UV_NUMBER_RE.sub(lambda m: ("_" if m.group(0).startswith("_") else "") + "u<U>_v<V>", base, count=1)
    return posixpath.join(folder, base) if folder else base


def apply_frame_extension(path: str) -> str:
    """Maya's "use image sequence": the last number of the file name becomes the frame.

    ``plate.0001.exr`` -> ``plate.<f4>.exr`` (padding kept). Movies and names without a number,
    or names that already hold a frame token, are left alone."""
    folder, base = posixpath.split(path)
    stem, ext = posixpath.splitext(base)
    if ext.lower() in MOVIE_EXTENSIONS or _has_frame_token(base):
        return path
    masked = _TOKEN_RE.sub(lambda m: "x" * len(m.group(0)), stem)  # never renumber <UDIM> itself
    m = _LAST_NUMBER_RE.search(masked)
    if not m:
        return path
    stem = stem[: m.start()] + f"<f{len(m.group(1))}>" + stem[m.end():]
    return posixpath.join(folder, stem + ext) if folder else stem + ext


def _has_frame_token(text: str) -> bool:
    return any(m.group("frame") for m in _TOKEN_RE.finditer(text))


def _has_tile_token(text: str) -> bool:
    return any(m.group(g) for m in _TOKEN_RE.finditer(text) for g in _UV_TOKENS)


def _frame_pad(m: "re.Match[str]") -> int:
    """Digits a frame token asks for; 0 means "any padding"."""
    if m.group("hashes"):
        n = len(m.group("hashes"))
        return 0 if n == 1 else n
    if m.group("ats"):
        return len(m.group("ats"))
    for g in ("fpad", "hpad", "ppad"):
        if m.group(g):
            return int(m.group(g))
    return 0


def _pattern(base: str) -> Tuple["re.Pattern[str]", List[int]]:
    """Regex for a file name with tokens, and the padding of each frame group in order."""
    parts: List[str] = []
    pads: List[int] = []
    pos = 0
    for m in _TOKEN_RE.finditer(base):
        parts.append(re.escape(base[pos:m.start()]))
        if m.group("udim"):
            parts.append(r"\d{4}")
        elif m.group("uvtile"):
            parts.append(r"_?u\d+_v\d+")
        elif m.group("uv"):
            parts.append(r"\d+")
        elif m.group("other"):
            parts.append(r"[^/]*?")
        else:
            parts.append(r"(-?\d+)")
            pads.append(_frame_pad(m))
        pos = m.end()
    parts.append(re.escape(base[pos:]))
    return re.compile("".join(parts)), pads


def _padding_ok(digits: str, pad: int) -> bool:
    digits = digits.lstrip("-")
    return pad == 0 or len(digits) == pad or (len(digits) > pad and not digits.startswith("0"))


def _is_folder_frame(m: "re.Match[str]") -> bool:
    """Houdini expands ``$F`` anywhere in a path; ``#``/``@``/``%04d``/``<f>`` are frame tokens
    only in the file name for Maya, Arnold and Houdini (``/show/shot #2/tex`` is a real folder)."""
    return bool(m.group("frame")) and m.group("hpad") is not None


def _has_folder_frame_token(folder: str) -> bool:
    return any(_is_folder_frame(m) for m in _TOKEN_RE.finditer(folder))


def render_frame(text: str, frame: int, folder: bool = False) -> str:
    """Replace frame tokens with ``frame`` at their padding; tile tokens stay as written.
    ``folder`` says ``text`` is a folder, where only ``$F`` is a frame token."""

    def sub(m: "re.Match[str]") -> str:
        if not m.group("frame") or (folder and not _is_folder_frame(m)):
            return m.group(0)
        pad = _frame_pad(m)
        return f"{frame:0{pad}d}" if frame >= 0 else f"-{abs(frame):0{pad}d}"

    return _TOKEN_RE.sub(sub, text)


def match_on_disk(path: str, numbers: Optional[Iterable[int]], cache: DirCache) -> List[Tuple[str, bool]]:
    """Files matching a tokenised ``path``; for frame tokens, only ``numbers`` (file numbers).

    Frames whose file is absent come back as missing (``exists`` false, tokens rendered), so a
    hole in a sequence is visible. A tile pattern with no tile on disk is one missing entry."""
    folder, base = posixpath.split(path)
    if _has_folder_frame_token(folder):
        return _per_frame_folders(path, numbers, cache)
    regex, pads = _pattern(base)
    wanted = None if numbers is None or not pads else _number_set(numbers)  # a tile pattern ignores frames
    found: List[Tuple[str, bool]] = []
    seen_frames = set()
    for name in sorted(cache.names(folder)):
        m = regex.fullmatch(name)
        if not m:
            continue
        if pads:
            digits = m.group(1)
            if not all(_padding_ok(m.group(i + 1), p) for i, p in enumerate(pads)):
                continue
            frame = int(digits)
            if wanted is not None and frame not in wanted:
                continue
            seen_frames.add(frame)
        found.append((posixpath.join(folder, name), True))
    if pads and wanted is not None:
        found += [(posixpath.join(folder, render_frame(base, f)), False) for f in sorted(wanted) if f not in seen_frames]
    elif not found:
        found.append((path, False))
    return found


def _per_frame_folders(path: str, numbers: Optional[Iterable[int]], cache: DirCache) -> List[Tuple[str, bool]]:
    """Frame tokens in a folder name (``cache/$F4/geo.bgeo``): one path per frame."""
    if numbers is None:
        return [(path, False)]
    out: List[Tuple[str, bool]] = []
    folder, base = posixpath.split(path)
    for f in numbers:
        concrete = posixpath.join(render_frame(folder, f, folder=True), render_frame(base, f))
        out += match_on_disk(concrete, None, cache) if has_tokens(concrete) else [(concrete, cache.exists(concrete))]
    return out


def candidates(value: str, base_dir: str, project: Optional[str] = None, rule_dirs: Sequence[str] = ()) -> List[str]:
    """Where a value may live, in the order Maya looks: the file rules of the project, the
    ``<old root>//<relative>`` project form, the path as written (relative to the project root or
    the scene), then the file name alone in the scene's folder. Paths are normalised."""
    v = to_posix(value)
    out: List[str] = []
    rel = _project_relative(v)
    if _UNRESOLVED_VAR_RE.match(v):  # starts with an unset variable: keep it visible as written
        out.append(posixpath.normpath(v))
        rel = None
    elif is_absolute(v) and rel is None:
        out.append(normpath(v))
    if project:
        if rel is not None:
            out.append(normpath(rel, project))
        elif not is_absolute(v) and not out:
            in_rules = [normpath(v, d) for d in rule_dirs]
            at_root = [normpath(v, project)]
            out += (in_rules + at_root) if "/" not in v else (at_root + in_rules)
    if rel is not None:
        out.append(normpath(v.replace("//", "/")))
    elif not is_absolute(v) and not out:
        out.append(normpath(v, base_dir))
    name = posixpath.basename(v)
    if name:
        out.append(normpath(name, base_dir))
    return list(dict.fromkeys(out))


def _project_relative(v: str) -> Optional[str]:
    """``/old/proj//sourceimages/a.png`` -> ``sourceimages/a.png`` (Maya's project-root form)."""
    start = 2 if v.startswith("//") else 0
    idx = v.find("//", start)
    if idx <= 0:
        return None
    return v[idx + 2:] or None


def expand_value(
    value: str,
    *,
    base_dir: str,
    numbers: Optional[Iterable[int]],
    cache: DirCache,
    env: Mapping[str, str],
    project: Optional[str] = None,
    rule_dirs: Sequence[str] = (),
    tiling: str = "",
    sequence: bool = False,
) -> Expansion:
    """Everything above in order, for one value. The first candidate location with a file on
    disk wins; when none has one, the first candidate is reported missing."""
    exp = Expansion()
    if not value.strip() or is_install_path(value):
        return exp
    text, unknown = expand_env(value.strip(), env)
    exp.warnings += [f"${name} is not set" for name in unknown]
    exp.warnings += [f"{tok} cannot be resolved offline: every file it may stand for is listed"
                     for tok in dict.fromkeys(m.group("other") for m in _TOKEN_RE.finditer(text) if m.group("other"))]
    text = apply_tiling(to_posix(text), tiling)
    if sequence:
        text = apply_frame_extension(text)
    first: Optional[List[Tuple[str, bool]]] = None
    for cand in candidates(text, base_dir, project, rule_dirs):
        files = _files_for(cand, numbers, cache)
        if any(ok for _, ok in files):
            exp.files = _unshield_all(files)
            return exp
        if first is None:
            first = files
    exp.files = _unshield_all(first or [])
    return exp


def _files_for(path: str, numbers: Optional[Iterable[int]], cache: DirCache) -> List[Tuple[str, bool]]:
    if cache.exists(path):  # a literal name that merely looks like a pattern (``tex@2x.png``)
        return [(path, True)]
    if has_tokens(path):
        return match_on_disk(path, numbers, cache)
    return [(path, False)]


def _unshield_all(files: Iterable[Tuple[str, bool]]) -> List[Tuple[str, bool]]:
    return [(unshield(p), ok) for p, ok in files]


def folder_files(
    value: str,
    *,
    base_dir: str,
    env: Mapping[str, str],
    project: Optional[str] = None,
    rule_dirs: Sequence[str] = (),
) -> Expansion:
    """Every file under the folder a value names (an XGen data folder, a Yeti image search path, a
    Bifrost mesh folder): the renderer picks files in it by rules the scene does not spell out,
    so all of them travel. The first candidate location that is a folder wins; none is one
    missing entry at the first candidate."""
    exp = Expansion()
    if not value.strip() or is_install_path(value):
        return exp
    text, unknown = expand_env(value.strip(), env)
    exp.warnings += [f"${name} is not set" for name in unknown]
    found = candidates(to_posix(text).rstrip("/") or "/", base_dir, project, rule_dirs)
    for cand in found:
        if os.path.isdir(cand):
            for root, dirs, files in os.walk(cand):
                dirs.sort()
                exp.files += [(to_posix(os.path.join(root, name)), True) for name in sorted(files)]
            if not exp.files:
                exp.warnings.append(f"folder {cand} is empty")
            return exp
    exp.files = [(found[0], False)] if found else []
    return exp
