"""Offline reader for Arnold scene sources (``.ass``, also gzip-compressed).

An .ass file is ``type { param value ... }`` blocks; geometry blocks can hold millions of lines of
numbers. The file is read in large blocks and only four kinds of line are matched, by one regular
expression (node type lines, braces, and the handful of parameters that hold paths), so the Python
loop runs per match rather than per line.

Relative file names are resolved the way Arnold does: against ``options.texture_searchpath`` for
textures and ``options.procedural_searchpath`` for procedurals, trying each entry in order. The
reader looks on disk for the first entry that holds the file and puts that folder in the
reference's ``base_dir``; when none does, the first entry is used (so the file is reported missing
where Arnold would look first) and a warning lists the folders tried. ``[VAR]`` in paths is
Arnold's environment syntax and becomes ``${VAR}`` for the expander."""
from __future__ import annotations

import fnmatch
import functools
import glob
import os
import gzip
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Dict, List, Optional, Tuple

from ..errors import ScanError
from ..paths import expand_vars, is_absolute, normpath
from .readers import READERS, scene_extension
from .expand import DirCache
from .model import RawRef, ReadContext, ReadResult

_TABLE = Path(__file__).with_name("arnold_params.yaml")
_BLOCK = 32 * 1024 * 1024
_QUOTED = re.compile(rb'"((?:[^"\\]|\\.)*)"')
_ESC = re.compile(r"\\(.)")
_ENV_TOKEN = re.compile(r"\[(\w+)\]")
_FRAME = re.compile(r"#+|%0?\d*d|<frame>|<f\d*>", re.I)
_TOKENS = re.compile(r"<[^>]*>|#+|%0?\d*d|\$\{?\w+\}?|\*|\?")
_PER_OBJECT = re.compile(r"<attr:[^>]*>|<shape[^>]*>", re.I)


@dataclass
class AssNode:
    type: str
    params: Dict[str, str] = field(default_factory=dict)
    index: int = 0

    @property
    def name(self) -> str:
        return self.params.get("name") or f"{self.type}#{self.index}"


@functools.lru_cache(maxsize=1)
def _load_table() -> Dict[str, Any]:
    """Read once per process: a shot can follow thousands of procedural .ass files."""
    import yaml

    return yaml.safe_load(_TABLE.read_text(encoding="utf-8")) or {}


def _line_regex(params: List[str]) -> "re.Pattern[bytes]":
    names = b"|".join(re.escape(p.encode()) for p in sorted(set(params), key=len, reverse=True))
    return re.compile(
        rb"^[ \t]*(?:(?P<close>\})|(?P<open>\{)|(?P<type>[A-Za-z_][\w.:]*)[ \t]*(?P<topen>\{)?"
        rb"|(?P<param>" + names + rb")[ \t]+(?P<value>[^\r\n]*?))[ \t]*\r?$", re.M)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _value(raw: bytes) -> str:
    """A string parameter's value: the quoted string(s) on the line, or the bare word."""
    m = _QUOTED.search(raw)
    if m:
        return _ESC.sub(r"\1", _decode(m.group(1)))
    parts = raw.split()
    return _decode(parts[-1]) if parts else ""


class _Parser:
    """Streams blocks of the file through the line regex, keeping node state across blocks."""

    def __init__(self, rx: "re.Pattern[bytes]") -> None:
        self.rx = rx
        self.nodes: List[AssNode] = []
        self.current: Optional[AssNode] = None
        self.pending: Optional[str] = None
        self.count = 0

    def feed(self, block: bytes) -> None:
        for m in self.rx.finditer(block):
            if self.current is None:
                self._outside(m)
            elif m.group("close"):
                self.nodes.append(self.current)
                self.current = None
            elif m.group("param"):
                self.current.params[_decode(m.group("param"))] = _value(m.group("value"))

    def _outside(self, m: "re.Match[bytes]") -> None:
        if m.group("type"):
            self.pending = _decode(m.group("type"))
            if m.group("topen"):
                self._open()
        elif m.group("open") and self.pending:
            self._open()

    def _open(self) -> None:
        self.count += 1
        self.current = AssNode(self.pending or "", index=self.count)
        self.pending = None


def _blocks(fh: BinaryIO):
    tail = b""
    while True:
        chunk = fh.read(_BLOCK)
        if not chunk:
            if tail:
                yield tail
            return
        chunk = tail + chunk
        cut = chunk.rfind(b"\n") + 1
        if cut == 0:
            tail = chunk
            continue
        tail = chunk[cut:]
        yield chunk[:cut]


def _open(path: str) -> BinaryIO:
    try:
        fh = open(path, "rb")
        magic = fh.read(2)
        fh.seek(0)
    except OSError as exc:
        raise ScanError(f"{path}: cannot read scene ({exc.strerror or exc})") from None
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=fh)  # type: ignore[return-value]
    return fh


def parse(path: str, params: List[str]) -> Tuple[List[AssNode], Optional[AssNode]]:
    """(complete nodes holding any of ``params``, the node left open at the end of the file)."""
    parser = _Parser(_line_regex(params + ["name"]))
    with _open(path) as fh:
        try:
            first = True
            for block in _blocks(fh):
                if first and b"\0" in block[:4096]:
                    raise ScanError(f"{path}: not an Arnold .ass file (binary data)")
                first = False
                parser.feed(block)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise ScanError(f"{path}: cannot read compressed .ass ({exc})") from None
    if parser.current is None and parser.pending:  # cut right after a node's type line
        return parser.nodes, AssNode(parser.pending, index=parser.count + 1)
    return parser.nodes, parser.current


def _split_searchpath(value: str) -> List[str]:
    """``/a:/b`` or ``C:/a;D:/b``: ``;`` always separates, ``:`` unless it follows a drive letter."""
    if ";" in value:
        parts = value.split(";")
    else:
        parts, buf = [], ""
        for piece in value.split(":"):
            if len(buf) == 1 and buf.isalpha():
                buf += ":" + piece
                continue
            if buf:
                parts.append(buf)
            buf = piece
        parts.append(buf)
    return [p.strip() for p in parts if p.strip()]


def arnold_env(value: str) -> str:
    """Arnold's ``[VAR]`` environment references as ``${VAR}``."""
    return _ENV_TOKEN.sub(lambda m: "${" + m.group(1) + "}", value)


def _exists_under(folder: str, value: str, cache: DirCache) -> bool:
    """Does ``folder/value`` exist, tokens (``<udim>``, ``####``) standing for any text? One
    listing per folder (shared across the file's references), never a stat per name."""
    full = posixpath.join(folder, value)
    parent, name = posixpath.split(full)
    if _TOKENS.search(parent):
        return bool(glob.glob(_glob_pattern(full)))
    pattern = _glob_pattern(name)
    return any(fnmatch.fnmatchcase(n, pattern) for n in cache.names(parent))


def _glob_pattern(value: str) -> str:
    return "".join("*" if _TOKENS.fullmatch(tok) else glob.escape(tok)
                   for tok in re.split(r"(<[^>]*>|#+|%0?\d*d)", value) if tok)


def _searchpaths(options: Optional[AssNode], table: Dict[str, Any], ctx: ReadContext,
                 ass_dir: str) -> Dict[str, List[str]]:
    """{kind: [absolute folders]} from the options node."""
    out: Dict[str, List[str]] = {}
    for param, kinds in (table.get("searchpaths") or {}).items():
        raw = options.params.get(param, "") if options else ""
        folders = [normpath(expand_vars(arnold_env(p), ctx.env), ass_dir) for p in _split_searchpath(raw)]
        for kind in kinds:
            out[kind] = folders
    return out


def _base_dir(value: str, kind: str, search: Dict[str, List[str]], ass_dir: str, ctx: ReadContext,
              where: str, warnings: List[str], cache: DirCache) -> str:
    folders = search.get(kind) or []
    if not folders or is_absolute(value) or value.startswith("$"):
        return ass_dir
    plain = expand_vars(value, ctx.env)
    for folder in folders:
        if _exists_under(folder, plain, cache):
            return folder
    warnings.append(f"{where}: {value} not found on the search path ({', '.join(folders)})")
    return folders[0]


def _kind(node: AssNode, param: str, table: Dict[str, Any]) -> Optional[str]:
    nodes = table.get("nodes") or {}
    row = nodes.get(node.type, nodes.get("*", {}))
    return row.get(param)


def _refs(nodes: List[AssNode], table: Dict[str, Any], ctx: ReadContext, ass_dir: str,
          warnings: List[str]) -> List[RawRef]:
    options = next((n for n in nodes if n.type == "options"), None)
    search = _searchpaths(options, table, ctx, ass_dir)
    outputs = table.get("outputs") or []
    follow_kinds = set(table.get("follow") or ())
    cache = DirCache()
    refs: List[RawRef] = []
    for node in nodes:
        is_output = any(fnmatch.fnmatchcase(node.type, pat) for pat in outputs)
        for param, raw in node.params.items():
            kind = _kind(node, param, table)
            if not kind or not raw.strip():
                continue
            value = arnold_env(raw)
            where = f"{node.name}.{param}"
            if _PER_OBJECT.search(value):
                warnings.append(f"{where}: {value} depends on per-object data and cannot be expanded offline")
            refs.append(RawRef(
                value=value, source=where, kind="image" if is_output else kind, node_type=node.type,
                base_dir=ass_dir if is_output else _base_dir(value, kind, search, ass_dir, ctx, where, warnings, cache),
                sequence=bool(_FRAME.search(value)), output=is_output,
                follow=not is_output and kind in follow_kinds and scene_extension(value) in READERS,
            ))
    return refs


def read(path: str, ctx: ReadContext) -> ReadResult:
    """Every file the .ass at ``path`` names, relative names placed on Arnold's search paths."""
    table = _load_table()
    params = sorted({p for row in (table.get("nodes") or {}).values() for p in row})
    params += list((table.get("searchpaths") or {}).keys())
    nodes, open_node = parse(path, params)
    result = ReadResult()
    if open_node is not None:
        result.warnings.append(f"{path}: truncated inside node {open_node.type} {open_node.name!r}")
        result.truncated_at = os.path.getsize(path)
        nodes.append(open_node)
    ass_dir = posixpath.dirname(normpath(path))
    result.refs = _refs(nodes, table, ctx, ass_dir, result.warnings)
    return result
