"""Maya ASCII (``.ma``) reader: a streaming scan for the few statements that name files.

Most of a production ``.ma`` is numeric ``setAttr`` data (mesh points, UVs, weights). Tokenising
it all is what makes naive readers crawl, so this reader runs one compiled regex over large
blocks of the byte stream and only stops at ``createNode``, ``select -ne``, ``file`` (references),
``connectAttr`` into a frame attribute, and ``setAttr`` of an attribute name the node/attribute
table cares about. Blocks end at a statement end (``;`` + newline), so nothing is read twice and
memory stays at a couple of blocks whatever the file size.

Scenes saved in a multi-byte code page (``//Codeset: 932``, Shift-JIS) are decoded before the
scan, because their second bytes can be ``\\`` or ``"``; UTF-8 and 1252 scenes are scanned as
bytes and only the captured values are decoded."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, BinaryIO, Dict, Iterator, List, Optional, Tuple

from ..errors import ScanError
from . import mel
from .attributes import AttrRule, load_table, name_map
from .maya_info import DEFAULT_NODE_TYPES, TILING_NAMES, build_info, info_names, number, truthy
from .model import RawRef, ReadContext, ReadResult

BLOCK = 8 << 20
HEADER = b"//Maya ASCII"
_NAME_RE = re.compile(r'-n\s+"([^"]*)"')
_PARENT_RE = re.compile(r'-p\s+"([^"]*)"')
_COPY_NUMBER_RE = re.compile(r"\{\d+\}$")

_STATEMENTS = (
    r"\n[ \t]*(?:"
    r"createNode[ \t]+(?P<ctype>[^\s;]+)(?P<cargs>[^;\n]*);"
    r"|setAttr(?:[ \t]+-[A-Za-z]+(?:[ \t]+[^\s\"-][^\s\"]*)?)*[ \t]+"
    r"\"(?P<snode>[^\".\n]*)\.(?P<sattr>{names})(?:\[[^\"\]\n]*\])?\""
    r"(?P<sval>(?:{string}|[^\";])*);"
    r"|select[ \t]+-ne[ \t]+(?P<sel>[^\s;]+)[ \t]*;"
    r"|file[ \t]+(?P<fargs>(?:{string}|[^\";])*);"
    r"|connectAttr[ \t]+\"[^\"\n]*\"[ \t]+\"(?P<cnode>[^\".\n]*)\.(?:{frame_names})\""
    r")"
)


class _Node:
    __slots__ = ("type", "parent", "values")

    def __init__(self, ntype: str, parent: str) -> None:
        self.type = ntype
        self.parent = parent
        self.values: Dict[str, Any] = {}


@lru_cache(maxsize=8)
def _compile(names: Tuple[str, ...], frame_names: Tuple[str, ...], text: bool):
    pattern = _STATEMENTS.format(
        names="|".join(re.escape(n) for n in names),
        frame_names="|".join(re.escape(n) for n in frame_names),
        string=mel.STRING_PATTERN,
    )
    return re.compile(pattern if text else pattern.encode("ascii"))


class _Scan:
    """State of one file's scan: the nodes seen so far and the current (selected) node."""

    def __init__(self, path: str, table: Dict[str, List[AttrRule]], encoding: Optional[str]) -> None:
        self.path = path
        self.table = table
        self.encoding = encoding
        self.text_mode = encoding in mel.MULTIBYTE
        self.names = {t: name_map(rules) for t, rules in table.items()}
        for t, names in info_names().items():
            self.names.setdefault(t, {}).update(names)
        all_names = sorted({n for m in self.names.values() for n in m}, key=lambda n: (-len(n), n))
        frame_names = sorted({n for t, rules in table.items() for r in rules for n in _frame_value_names(r)})
        self.regex = _compile(tuple(all_names), tuple(frame_names or ["fe"]), self.text_mode)
        self.nodes: Dict[str, _Node] = {}
        self.current: Optional[_Node] = None
        self.connected_frames: set = set()
        self.refs: List[RawRef] = []
        self.warnings: List[str] = []

    def text(self, raw) -> str:
        return raw if self.text_mode else mel.decode(raw, self.encoding)

    def feed(self, block) -> None:
        if self.text_mode:
            block = block.decode(self.encoding, errors="replace")
        for m in self.regex.finditer(block):
            if m.group("ctype") is not None:
                self._create(self.text(m.group("ctype")), self.text(m.group("cargs")))
            elif m.group("sattr") is not None:
                self._set(m)
            elif m.group("sel") is not None:
                self._select(self.text(m.group("sel")))
            elif m.group("fargs") is not None:
                self._reference(self.text(m.group("fargs")))
            else:
                self.connected_frames.add(self.text(m.group("cnode")))

    def _create(self, ntype: str, args: str) -> None:
        name_m, parent_m = _NAME_RE.search(args), _PARENT_RE.search(args)
        name = name_m.group(1) if name_m else f"<unnamed {ntype}>"
        node = _Node(ntype, parent_m.group(1) if parent_m else "")
        if ntype in self.names or ntype == "renderLayer":
            self.nodes[name] = node
        self.current = node

    def _select(self, name: str) -> None:
        name = name.lstrip(":")
        node = self.nodes.get(name)
        if node is None and name in DEFAULT_NODE_TYPES:
            node = self.nodes[name] = _Node(DEFAULT_NODE_TYPES[name], "")
        self.current = node

    def _set(self, m: "re.Match") -> None:
        owner = self.text(m.group("snode"))
        node = self.nodes.get(owner.lstrip(":")) if owner else self.current
        if node is None:
            return
        long = self.names.get(node.type, {}).get(self.text(m.group("sattr")))
        if long is None:
            return
        value = mel.set_attr_value(self.text(m.group("sval")))
        if value is not None:
            node.values[long] = value

    def _reference(self, args: str) -> None:
        opts, _ = mel.flags(args)
        if "r" not in opts and "reference" not in opts:
            return  # ``file -rdi`` (nested reference state) and other file commands
        paths = [w for is_str, w in mel.words(args) if is_str]
        if not paths:
            self.warnings.append(f"{self.path}: a reference without a file name was skipped")
            return
        rfn = opts.get("rfn") or opts.get("referenceNode") or opts.get("ns", "")
        self.refs.append(RawRef(
            value=_COPY_NUMBER_RE.sub("", paths[-1]), source=rfn or "file -r", kind="reference",
            node_type="reference", follow=True, deferred=opts.get("dr", opts.get("deferReference", "0")) == "1",
        ))

    def result(self) -> ReadResult:
        refs = list(self.refs)
        for name, node in self.nodes.items():
            for rule in self.table.get(node.type, ()):
                refs += _refs_for(name, node, rule, name in self.connected_frames)
        info_nodes = {n: (node.type, node.parent, node.values) for n, node in self.nodes.items()}
        info, outputs = build_info(info_nodes)
        return ReadResult(refs=refs + outputs, warnings=self.warnings, info=info)


def _frame_value_names(rule: AttrRule) -> List[str]:
    from .attributes import AUX_SHORT_NAMES

    if not rule.frame_value:
        return []
    return [rule.frame_value, AUX_SHORT_NAMES.get(rule.frame_value, rule.frame_value)]


def _refs_for(name: str, node: _Node, rule: AttrRule, frame_connected: bool) -> List[RawRef]:
    """RawRefs of one table row on one node (a stringArray gives one per entry)."""
    raw = node.values.get(rule.attr)
    if raw is None:
        return []
    values = raw if isinstance(raw, list) else [raw]
    v = node.values
    sequence = bool(rule.frames) and truthy(v.get(rule.frames, "no"))
    frame_value = None
    if sequence and rule.frame_value in v and not frame_connected:
        frame_value = number(v[rule.frame_value])
    offset = number(v.get(rule.frame_offset, 0)) if rule.frame_offset else 0
    tiling = TILING_NAMES.get(int(number(v.get(rule.tiling, 0)) or 0), "") if rule.tiling else ""
    folder = str(v.get(rule.dir_attr) or "") if rule.dir_attr else ""
    out = []
    for value in values:
        if not value:
            continue
        if folder:
            value = folder.rstrip("/\\") + "/" + value
        out.append(RawRef(
            value=value + rule.suffix, source=f"{name}.{rule.attr}", kind=rule.kind, node_type=node.type,
            sequence=sequence, frame_offset=int(offset or 0), frame_value=frame_value, tiling=tiling,
            output=rule.output, follow=rule.follow,
        ))
    return out


def _blocks(fh: BinaryIO, size: int = BLOCK) -> Iterator[bytes]:
    """Blocks of whole statements: each ends at ``;`` before a newline, and each starts with the
    newline that ends the previous block, so every statement is preceded by ``\\n``."""
    tail = b"\n"
    while True:
        chunk = fh.read(size)
        if not chunk:
            break
        data = tail + chunk
        cut = max(data.rfind(b";\n"), data.rfind(b";\r\n"))
        if cut < 0:
            tail = data  # one statement longer than a block: keep reading
            continue
        yield data[: cut + 1]
        tail = data[cut + 1:]
    if tail.strip():
        yield tail + b"\n"


def _unfinished(block: bytes) -> bool:
    """True when the scene's last block holds a statement without its ``;`` (ignoring the
    ``// End of`` comment Maya writes last)."""
    lines = [ln.strip() for ln in block.splitlines()[-50:]]
    code = [ln for ln in lines if ln and not ln.startswith(b"//")]
    return bool(code) and not code[-1].endswith(b";")


def read(path: str, ctx: ReadContext) -> ReadResult:
    """Every file reference in one ``.ma`` (not following references: the scanner does)."""
    table = load_table(ctx.config)
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
            if not head.lstrip(b"\xef\xbb\xbf").startswith(HEADER):
                raise ScanError(f"{path}: not a Maya ASCII scene (no '//Maya ASCII' header)")
            scan = _Scan(path, table, mel.codeset(head))
            fh.seek(0)
            last = b""
            for block in _blocks(fh, BLOCK):
                scan.feed(block)
                last = block
    except OSError as exc:
        raise ScanError(f"{path}: cannot read scene ({exc.strerror or exc})") from None
    if _unfinished(last):
        scan.warnings.append(f"{path}: the file ends in the middle of a statement (truncated?)")
    return scan.result()
