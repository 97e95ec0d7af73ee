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

import os
import re
from functools import lru_cache
from typing import Any, BinaryIO, Dict, Iterator, List, Optional, Tuple

from ..errors import ScanError
from . import mel
from .attributes import AttrRule, frame_value_names, load_table, name_map, number, rule_refs
from .maya_info import DEFAULT_NODE_TYPES, INFO_ATTRS, build_info, info_names
from .maya_layers import LINK_ATTRS
from .maya_references import edited_plugs, load_states, local_name
from .model import RawRef, ReadContext, ReadResult

BLOCK = 8 << 20
HEADER = b"//Maya ASCII"
_COPY_NUMBER_RE = re.compile(r"\{\d+\}$")
_INFO_TYPES = frozenset(INFO_ATTRS) | {"renderLayer"}
_LINKS = frozenset(LINK_ATTRS)

# One pass over the bytes. Each branch ends in an empty named group so ``m.lastgroup`` says
# which statement matched without testing groups one by one (this loop runs ~10^6 times).
_STATEMENTS = (
    r"\n\t?(?:"
    r"createNode[ \t]+(?P<ctype>{types})(?=[ \t;])(?:[ \t]+-s)?(?:[ \t]+-n[ \t]+\"(?P<cname>[^\"\n]*)\")?"
    r"(?:[ \t]+-p[ \t]+\"(?P<cparent>[^\"\n]*)\")?[^;\n]*;(?P<Create>)"
    r"|createNode[ \t](?P<Other>)"
    r"|setAttr(?:[ \t]+-[A-Za-z]+(?:[ \t]+[^\s\"-][^\s\"]*)?)*[ \t]+"
    r"\"(?P<snode>[^\".\n]*)\.(?P<sattr>{names})(?:\[[^\"\]\n]*\])?\""
    r"(?:[ \t]+-type[ \t]+\"string\"[ \t]+\"(?P<sstr>[^\"\\\n]*)\"[ \t]*;"  # the common case, no escapes
    r"|(?P<sval>(?:{string}|[^\";])*);)(?P<Set>)"
    r"|select[ \t]+-ne[ \t]+(?P<sel>[^\s;]+)[ \t]*;(?P<Select>)"
    r"|file[ \t]+(?P<fargs>(?:{string}|[^\";])*);(?P<File>)"
    r"|connectAttr[ \t]+\"(?P<csrc>[^\"\n]*)\"[ \t]+\"(?P<cnode>[^\".\n]*)\.(?P<cattr>(?:{frame_names})|"
    + "|".join(LINK_ATTRS) + r")\"(?P<Connect>)"  # a frame attribute driven, or a render setup list (maya_layers)
    r"|\t2\s+\"(?P<enode>[^\"\n]*)\"\s+\"(?P<eattr>{edit_names})\"\s+(?P<evalue>{string})(?P<Edit>)"
    r")"
)


class _Node:
    __slots__ = ("name", "type", "parent", "values")

    def __init__(self, name: str, ntype: str, parent: str) -> None:
        self.name = name
        self.type = ntype
        self.parent = parent
        self.values: Dict[str, Any] = {}


def _alternation(words) -> str:
    """A regex matching any of ``words``, longest first, written as a prefix tree
    (``file(?:Name|name[0-9])``...): the regex engine tries alternatives one by one, and a flat list
    of a hundred names would be tried in full at every ``setAttr`` of a production scene."""
    trie: Dict[str, dict] = {}
    for word in set(words):
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _branch(trie)


def _branch(node: Dict[str, dict]) -> str:
    alternatives = [re.escape(ch) + _branch(child) for ch, child in sorted(node.items()) if ch]
    if not alternatives:
        return ""
    body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
    return f"(?:{body})?" if "" in node else body


@lru_cache(maxsize=8)
def _compile(types: Tuple[str, ...], names: Tuple[str, ...], frame_names: Tuple[str, ...],
             edit_names: Tuple[str, ...], text: bool):
    pattern = _STATEMENTS.format(
        types=_alternation(types), names=_alternation(names), frame_names=_alternation(frame_names),
        edit_names=_alternation(edit_names), string=mel.STRING_PATTERN,
    )
    return re.compile(pattern if text else pattern.encode("ascii"))


class _Scan:
    """State of one file's scan: the nodes seen so far and the current (selected) node.

    In byte mode the hot lookups (node type, attribute name) are done on bytes; only values
    and the names of interesting nodes are decoded."""

    def __init__(self, path: str, table: Dict[str, List[AttrRule]], encoding: Optional[str]) -> None:
        self.path = path
        self.table = table
        self.encoding = encoding
        self.text_mode = encoding in mel.MULTIBYTE
        names = {t: name_map(rules) for t, rules in table.items()}
        for t, extra in info_names().items():
            names.setdefault(t, {}).update(extra)
        key = (lambda w: w) if self.text_mode else (lambda w: w.encode("utf-8"))
        self.attr_keys = {t: {key(n): long for n, long in m.items()} for t, m in names.items()}
        types = set(names) | {"renderLayer"}
        all_names = {n for m in names.values() for n in m}
        frame_names = frame_value_names(table) or {"fe"}
        self.edit_rules = _edit_rules(table)
        self.regex = _compile(tuple(sorted(types)), tuple(sorted(all_names)), tuple(sorted(frame_names)),
                              tuple(sorted(self.edit_rules)), self.text_mode)
        self.nodes: Dict[str, _Node] = {}      # by name, for select -ne and "node.attr"
        self.node_list: List[_Node] = []
        self.current: Optional[_Node] = None
        self.connected_frames: set = set()
        self.refs: List[RawRef] = []
        self.warnings: List[str] = []
        self.depth_table: List[Tuple[int, str, bool]] = []   # file -rdi: (depth, reference node, unloaded)
        self.edits: List[Tuple[str, str]] = []                # reference edits: (node, attribute)
        self.links: List[Tuple[str, str, str]] = []           # render setup: (source, destination, attribute)
        self._handlers = {"Create": self._create, "Other": self._other, "Set": self._set,
                          "Select": self._select, "File": self._reference, "Connect": self._connect,
                          "Edit": self._edit}

    def text(self, raw) -> str:
        if self.text_mode:
            return raw
        try:
            return raw.decode(self.encoding or "utf-8")
        except (UnicodeDecodeError, LookupError):
            return mel.decode(raw, self.encoding)

    def feed(self, block, end: int) -> None:
        if self.text_mode:
            block, end = block[:end].decode(self.encoding, errors="replace"), -1
        handlers = self._handlers
        for m in self.regex.finditer(block, 0, len(block) if end < 0 else end):
            handlers[m.lastgroup](m)

    def _other(self, m: "re.Match") -> None:
        self.current = None

    def _create(self, m: "re.Match") -> None:
        ntype, name, parent = m.group("ctype", "cname", "cparent")
        ntype = self.text(ntype)
        name = self.text(name) if name is not None else f"<unnamed {ntype}>"
        node = self.current = self.nodes[name] = _Node(name, ntype, self.text(parent) if parent else "")
        self.node_list.append(node)  # DAG shapes may share a name under different parents

    def _edit(self, m: "re.Match") -> None:
        """A reference edit in a reference node's ``.ed``: the parent scene re-pointed a file
        attribute of a node inside the referenced file. The new path is what renders, so it is
        listed (the referenced file's own value is listed too when that file is scanned)."""
        attr = self.text(m.group("eattr"))
        value = mel.set_attr_value(mel.unescape(self.text(m.group("evalue"))[1:-1]))
        if isinstance(value, str) and value:
            rule = self.edit_rules[attr]
            node = self.text(m.group("enode"))
            self.edits.append((node, rule.attr))
            self.refs.append(RawRef(value=value, source=f"{node}.{rule.attr}", kind=rule.kind,
                                    node_type=rule.node_type, follow=rule.follow))

    def _connect(self, m: "re.Match") -> None:
        attr = self.text(m.group("cattr"))
        if attr in _LINKS:
            src = self.text(m.group("csrc")).split(".", 1)[0]
            self.links.append((src.lstrip(":"), self.text(m.group("cnode")).lstrip(":"), attr))
        else:
            self.connected_frames.add(self.text(m.group("cnode")))

    def _named(self, name: str) -> Optional[_Node]:
        """A node by name; Maya's default nodes (``:defaultRenderGlobals``) exist unannounced."""
        name = name.rsplit("|", 1)[-1].lstrip(":")  # DAG paths and the root namespace
        node = self.nodes.get(name)
        if node is None and name in DEFAULT_NODE_TYPES:
            node = self.nodes[name] = _Node(name, DEFAULT_NODE_TYPES[name], "")
            self.node_list.append(node)
        return node

    def _select(self, m: "re.Match") -> None:
        self.current = self._named(self.text(m.group("sel")))

    def _set(self, m: "re.Match") -> None:
        owner = m.group("snode")
        node = self._named(self.text(owner)) if owner else self.current
        if node is None:
            return
        long = self.attr_keys.get(node.type, {}).get(m.group("sattr"))
        if long is None:
            return
        plain = m.group("sstr")
        value = self.text(plain) if plain is not None else mel.set_attr_value(self.text(m.group("sval")))
        if value is not None:
            node.values[long] = value

    def _reference(self, m: "re.Match") -> None:
        """``file -r`` (a reference) or ``file -rdi N`` (its line in the reference-depth table, the
        one that says whether it is loaded); other ``file`` commands name no dependency."""
        args = self.text(m.group("fargs"))
        opts, _ = mel.flags(args)
        depth = opts.get("rdi", opts.get("referenceDepthInfo"))
        rfn = opts.get("rfn") or opts.get("referenceNode") or ""
        if depth is not None:
            unloaded = opts.get("dr", opts.get("deferReference", "0")) == "1"
            self.depth_table.append((int(number(depth) or 0), rfn, unloaded))
            return
        if "r" not in opts and "reference" not in opts:
            return
        paths = [w for is_str, w in mel.words(args) if is_str]
        if not paths:
            self.warnings.append(f"{self.path}: a reference without a file name was skipped")
            return
        namespace = opts.get("ns", opts.get("namespace", ""))
        self.refs.append(RawRef(
            value=_COPY_NUMBER_RE.sub("", paths[-1]), source=rfn or namespace or "file -r", kind="reference",
            node_type="reference", follow=True, namespace=namespace,
        ))

    def result(self) -> ReadResult:
        states = load_states(self.depth_table)
        for ref in self.refs:
            if ref.kind == "reference":
                state = states.get(local_name(ref.source))
                ref.deferred = bool(state and state.unloaded)
                ref.nested = state.nested if state and state.nested else None
                ref.overridden = edited_plugs(ref.namespace, self.edits)
        refs = list(self.refs)
        for node in self.node_list:
            for rule in self.table.get(node.type, ()):
                refs += _refs_for(node, rule, node.name in self.connected_frames)
        info_nodes = {n.name: (n.type, n.parent, n.values) for n in self.node_list if n.type in _INFO_TYPES}
        time1 = self.nodes.get("time1")
        info, outputs = build_info(info_nodes, self.links, time1.values.get("outTime") if time1 else None,
                                   time_values=True)
        return ReadResult(refs=refs + outputs, warnings=self.warnings, info=info)


# Attribute names that mean "a file" whatever the node type, so a reference edit naming one can
# be trusted without knowing the edited node's type. imageName is left out: on a camera it is a
# name, not a file.
_AMBIGUOUS_EDIT_NAMES = frozenset(("imageName",))


def _edit_rules(table: Dict[str, List[AttrRule]]) -> Dict[str, AttrRule]:
    rules: Dict[str, AttrRule] = {}
    for node_rules in table.values():
        for rule in node_rules:
            if rule.attr not in _AMBIGUOUS_EDIT_NAMES and not rule.name_attr:
                rules.setdefault(rule.attr, rule)
    return rules


def _refs_for(node: _Node, rule: AttrRule, frame_connected: bool) -> List[RawRef]:
    """RawRefs of one table row on one node (a stringArray gives one per entry)."""
    raw = node.values.get(rule.attr)
    if raw is None:
        return []
    values = node.values

    def get(name: str) -> Any:
        return None if frame_connected and name == rule.frame_value else values.get(name)

    return rule_refs(node.name, node.type, rule, raw if isinstance(raw, list) else [raw], get)


def _blocks(fh: BinaryIO, size: int = BLOCK) -> Iterator[Tuple[bytes, int]]:
    """``(data, end)``: ``data[:end]`` holds whole statements, ending at a ``;`` before a newline
    and starting with the newline that ended the previous block, so every statement is preceded
    by ``\\n``. The end is passed to the regex instead of slicing, to save a copy per block."""
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
        yield data, cut + 1
        tail = data[cut + 1:]
    if tail.strip():
        yield tail + b"\n", len(tail) + 1


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
            fallback = str(ctx.config.get("scan.maya_default_codeset", "") or "") if ctx.config is not None else ""
            scan = _Scan(path, table, mel.codeset(head) or mel.codec(fallback))
            fh.seek(0)
            last = b""
            for block, end in _blocks(fh, BLOCK):
                scan.feed(block, end)
                last = block[max(0, end - 4096):end]
    except OSError as exc:
        raise ScanError(f"{path}: cannot read scene ({exc.strerror or exc})") from None
    result = scan.result()
    if _unfinished(last):
        result.warnings.append(f"{path}: the file ends in the middle of a statement (truncated?)")
        result.truncated_at = os.path.getsize(path)
    return result
