"""The small text formats inside a ``.hip`` archive.

``*.parm``: ``name [ flags ] ( v1 v2 ... )`` where a component is a quoted string (which may span
lines), a bare word, or ``[ channel value ]`` when a channel drives it (the value is what it
evaluated to when the file was saved). ``*.chn``: ``channel name { ... segment { ... expr = ... } }``.
``*.def``: ``flags = lock off ... bypass on ...`` and ``exprlanguage hscript|python``.
``.variables``: ``set -g NAME = 'value'``. ``.start``: ``frange 1 240``. ``.OPfallbacks``:
``Category/type path`` per line. Parsing is by regular expressions over whole bodies, so a
100 MB scene is read at C speed rather than character by character."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

_PARM_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|([\[\]()])|([^\s\[\]()"]+)', re.S)
_ESCAPE = re.compile(r"\\(.)", re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


@dataclass
class Component:
    value: str
    channel: str = ""       # name of the channel driving it (see the node's .chn)


def unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), text)


def _tokens(text: str):
    for m in _PARM_TOKEN.finditer(text):
        if m.group(1) is not None:
            yield "s", unescape(m.group(1))
        elif m.group(2) is not None:
            yield m.group(2), m.group(2)
        else:
            yield "w", m.group(3)


def parse_parms(text: str) -> Dict[str, List[Component]]:
    """``{parm name: [components]}`` of a ``.parm`` body. Unbalanced input ends the parse quietly:
    whatever was complete is returned (a truncated scene still gives its earlier parms)."""
    out: Dict[str, List[Component]] = {}
    toks = list(_tokens(text))
    i, n = 0, len(toks)
    while i < n:
        kind, val = toks[i]
        if kind != "w" or i + 1 >= n or toks[i + 1][0] != "[":
            i += 1
            continue
        name = val
        j = i + 2
        while j < n and toks[j][0] != "]":
            j += 1
        if j + 1 >= n or toks[j + 1][0] != "(":
            i = j + 1
            continue
        comps, i = _components(toks, j + 2)
        if comps is not None:
            out[name] = comps
    return out


def _components(toks: list, i: int) -> Tuple[Optional[List[Component]], int]:
    comps: List[Component] = []
    n = len(toks)
    while i < n:
        kind, val = toks[i]
        if kind == ")":
            return comps, i + 1
        if kind == "[":
            # [ channel value ]: value may be missing for numeric channels saved without one
            chan = toks[i + 1][1] if i + 1 < n else ""
            k = i + 2
            value = ""
            if k < n and toks[k][0] in ("s", "w"):
                value = toks[k][1]
                k += 1
            while k < n and toks[k][0] != "]":
                k += 1
            comps.append(Component(value, chan))
            i = k + 1
            continue
        comps.append(Component(val))
        i += 1
    return None, i


_CHANNEL = re.compile(r"channel\s+(\S+)\s*\{")
# The expression runs to the end of its line, less the segment's closing brace and any trailing
# `language = python`; quoted forms ("...") and backslash-escaped forms (\"...\") both occur.
_EXPR = re.compile(r'\bexpr\s*=\s*(?:"((?:[^"\\\n]|\\.)*)"|(.*?))\s*(?:\b(?:language|lang)\s*=\s*\w+\s*)?\}?[ \t]*$', re.M)
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
