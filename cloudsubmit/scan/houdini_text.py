"""The small text formats inside a ``.hip`` archive.

``*.parm``: ``name [ flags ] ( v1 v2 ... )`` where a component is a quoted string (which may span
lines), a bare word (a string without white space, its quotes escaped), or ``[ channel value ]`` when a channel drives it (the value is what it
evaluated to when the file was saved). ``*.chn``: ``channel name { ... segment { ... expr = ... } }``.
``*.def``: ``flags = lock off ... bypass on ...`` and ``exprlanguage hscript|python``.
``.variables``: ``set -g NAME = 'value'``. ``.start``: ``frange 1 240``. ``.OPfallbacks``:
``Category/type path`` per line. Parsing is by regular expressions over whole bodies, so a
100 MB scene is read at C speed rather than character by character."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

# A component is a quoted string (may span lines) or a bare word: Houdini writes a string bare when
# it holds no white space, escaping its quotes (`chs(\"../../path\")`), so a bare word runs to the
# next white space whatever it contains. A lone ( ) [ ] is punctuation.
_PARM_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|((?:[^\s"\\]|\\.)(?:[^\s\\]+|\\.)*)', re.S)
_PUNCT = frozenset("()[]")
_ESCAPE = re.compile(r"\\(.)", re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


@dataclass
class Component:
    value: str
    channel: str = ""       # name of the channel driving it (see the node's .chn)


def unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), text)


def _tokens(text: str, pos: int = 0):
    for m in _PARM_TOKEN.finditer(text, pos):
        if m.group(1) is not None:
            yield "s", unescape(m.group(1))
        elif m.group(2) in _PUNCT:
            yield m.group(2), m.group(2)
        else:
            yield "w", unescape(m.group(2))


# `name [ flags ] (` at the start of a line: where each parameter's values begin
_PARM_LINE = re.compile(r'^([^\s\[\]()"{}]+)[ \t]+\[', re.M)
_NAME_CHARS = r'[^\s\[\]()"{}]'


def glob_regex(pattern: str) -> str:
    """A parameter-name glob (``filepath[0-9]*``, ``*_texture``) as a regex fragment that stays
    within one name, for :meth:`ParmBlock.find`."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append(_NAME_CHARS + "*")
        elif c == "?":
            out.append(_NAME_CHARS)
        elif c == "[" and "]" in pattern[i + 1:]:
            j = pattern.index("]", i + 1)
            out.append(pattern[i:j + 1])
            i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def names_regex(patterns: List[str]) -> "re.Pattern[str]":
    """One regex matching every parameter name that fits one of the globs ``patterns``."""
    alts = "|".join(sorted({glob_regex(p) for p in patterns}, key=len, reverse=True)) or "(?!)"
    return re.compile(r"(?:" + alts + r")\Z")


class ParmBlock:
    """A node's ``.parm`` body, parsed on demand: a scene has millions of parameters and only a
    few per node can hold a path, so the reader asks for candidate names with one regex and
    tokenises only those values."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._pos: Dict[str, Optional[int]] = {}  # name -> offset of its "[ flags ]"
        self._parsed: Dict[str, Optional[List[Component]]] = {}

    def find(self, wanted: Callable[[str], bool]) -> List[str]:
        """Names of the parameters ``wanted`` accepts. Names are listed by one C-speed regex
        pass; positions are looked up only for the few names asked for."""
        return [n for n in _PARM_LINE.findall(self.text) if wanted(n)]

    def names(self) -> List[str]:
        return _PARM_LINE.findall(self.text)

    def _locate(self, name: str) -> Optional[int]:
        if name not in self._pos:
            m = re.search(r"^" + re.escape(name) + r"[ \t]+\[", self.text, re.M)
            self._pos[name] = m.end() - 1 if m else None
        return self._pos[name]

    def __contains__(self, name: str) -> bool:
        return self._locate(name) is not None

    def complete(self, name: str) -> bool:
        self.get(name)
        return self._parsed.get(name) is not None

    def get(self, name: str) -> List[Component]:
        """The parameter's components; empty when absent or cut off by truncation."""
        if name not in self._parsed:
            pos = self._locate(name)
            self._parsed[name] = None if pos is None else _components(_values(_tokens(self.text, pos)))
        return self._parsed[name] or []


def _values(toks):
    """Skip ``[ flags ]`` up to the ``(`` that opens the values."""
    for kind, _ in toks:
        if kind == "(":
            break
    return toks


def parse_parms(text: str) -> Dict[str, List[Component]]:
    """``{parm name: [components]}`` of a whole ``.parm`` body (a truncated last parameter is
    left out: whatever was complete is returned)."""
    block = ParmBlock(text)
    out: Dict[str, List[Component]] = {}
    for name in block.names():
        comps = block.get(name)
        if block.complete(name):
            out[name] = comps
    return out


def _components(toks) -> Optional[List[Component]]:
    comps: List[Component] = []
    for kind, val in toks:
        if kind == ")":
            return comps
        if kind == "[":
            # [ channel value ]: the value is what the channel gave when the scene was saved
            inner = []
            for k2, v2 in toks:
                if k2 == "]":
                    break
                inner.append(v2)
            comps.append(Component(inner[1] if len(inner) > 1 else "", inner[0] if inner else ""))
            continue
        comps.append(Component(val))
    return None


_CHANNEL = re.compile(r"channel\s+(\S+)\s*\{")
# The expression runs to the end of its line, less the segment's closing brace and any trailing
# `language = python`; quoted forms ("...") and backslash-escaped forms (\"...\") both occur.
_EXPR = re.compile(r'\bexpr\s*=\s*(?:"((?:[^"\\\n]|\\.)*)"|(.*?))'
                   r'\s*(?:\b(?:language|lang)\s*=\s*\w+\s*)?\}?[ \t]*$', re.M)
_PYLANG = re.compile(r"\b(?:language|lang)\s*=\s*python\b")


@dataclass
class Channel:
    name: str
    exprs: List[str]
    python: bool = False


def parse_channels(text: str) -> Dict[str, Channel]:
    """``{channel name: Channel}`` of a ``.chn`` body; each segment's expression as the
    expression language sees it (the file's own escaping removed)."""
    out: Dict[str, Channel] = {}
    heads = list(_CHANNEL.finditer(text))
    for k, m in enumerate(heads):
        end = heads[k + 1].start() if k + 1 < len(heads) else len(text)
        body = text[m.end():end]
        exprs: List[str] = []
        for e in _EXPR.finditer(body):
            expr = unescape(next(g for g in e.groups() if g is not None))
            if expr not in exprs:
                exprs.append(expr)
        out[m.group(1)] = Channel(m.group(1), exprs, bool(_PYLANG.search(body)))
    return out


_FLAGS = re.compile(r"^flags\s*=\s*(.*)$", re.M)
_EXPRLANG = re.compile(r"^exprlanguage\s+(\w+)", re.M)


def parse_def(text: str) -> Tuple[Dict[str, bool], str]:
    """(flags such as ``{"bypass": False, "lock": True}``, default expression language)."""
    flags: Dict[str, bool] = {}
    m = _FLAGS.search(text)
    if m:
        words = m.group(1).split()
        for name, state in zip(words[::2], words[1::2]):
            flags[name] = state == "on"
    lang = _EXPRLANG.search(text)
    return flags, (lang.group(1) if lang else "hscript")


_INIT_TYPE = re.compile(r"^type\s*=\s*(\S+)", re.M)


def parse_init(text: str) -> str:
    m = _INIT_TYPE.search(text)
    return m.group(1) if m else ""


_SET = re.compile(r"^\s*set\s+(?:-\w+\s+)*(\w+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"|(\S*))", re.M)


def parse_variables(text: str) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for m in _SET.finditer(text):
        raw = next(g for g in (m.group(2), m.group(3), m.group(4)) if g is not None)
        out[m.group(1)] = unescape(raw)
    return out


_FRANGE = re.compile(r"^frange\s+(\S+)\s+(\S+)", re.M)


def parse_frange(text: str) -> Optional[Tuple[float, float]]:
    m = _FRANGE.search(text)
    if not m:
        return None
    try:
        return float(m.group(1)), float(m.group(2))
    except ValueError:
        return None


def parse_fallbacks(text: str) -> List[Tuple[str, str]]:
    """``[(Category/type, library path)]``; a type may be listed with several paths."""
    out = []
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2:
            out.append((parts[0], parts[1].strip()))
    return out


_DIALOG = re.compile(r"# Dialog script for (\S+) automatically generated")
_PARM_START = re.compile(r"\n\s*parm\s*\{")
_DIALOG_NAME = re.compile(r'^\s*name\s+"?([^"\s]+)"?', re.M)
_DIALOG_TYPE = re.compile(r"^\s*type\s+(\w+)", re.M)
_CHOOSER_MODE = re.compile(r'"filechooser_mode"\s+"(\w+)"')
_BASEPARM = re.compile(r"^\s*baseparm\s*$", re.M)
DIALOG_FILE_TYPES = {"file": "file", "geometry": "geometry", "image": "texture"}


@dataclass
class DialogParm:
    name: str          # may hold '#' for multiparm instances (file#)
    kind: str
    output: bool       # the file chooser writes (filechooser_mode "write")


def parse_dialog_file_parms(text: str) -> Dict[str, List[DialogParm]]:
    """``{operator name: [file parameters]}`` from the DialogScripts of operator definitions
    (``.OPdummydefs`` holds one per type the scene uses from a library)."""
    out: Dict[str, List[DialogParm]] = {}
    heads = list(_DIALOG.finditer(text))
    for k, head in enumerate(heads):
        end = heads[k + 1].start() if k + 1 < len(heads) else len(text)
        parms: List[DialogParm] = []
        for section in _PARM_START.split(text[head.end():end])[1:]:
            name, ptype = _DIALOG_NAME.search(section), _DIALOG_TYPE.search(section)
            if not name or not ptype or ptype.group(1) not in DIALOG_FILE_TYPES or _BASEPARM.search(section):
                continue
            mode = _CHOOSER_MODE.search(section)
            parms.append(DialogParm(name.group(1), DIALOG_FILE_TYPES[ptype.group(1)],
                                    bool(mode and mode.group(1) == "write")))
        out[head.group(1)] = parms
    return out
