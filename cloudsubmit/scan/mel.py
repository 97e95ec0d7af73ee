"""The small part of MEL a Maya ASCII scene needs: string literals with their escapes, the
``( "a" + "b" )`` continuation Maya writes for long strings, ``//Codeset:`` headers, and the
flag/value words of one statement."""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

from .attributes import number

STRING_PATTERN = r'"(?:[^"\\\n]|\\.)*"'
_STRING_RE = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
_ESCAPE_RE = re.compile(r"\\(.)", re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_TYPE_RE = re.compile(r'^\s*-type\s+"(\w+)"')
_WORD_RE = re.compile(r'"((?:[^"\\\n]|\\.)*)"|(\S+)')
_CODESET_RE = re.compile(rb"^//Codeset:\s*(\S+)", re.M)

# Maya's codeset names -> Python codecs. Numbers are Windows code pages.
CODESETS = {"utf-8": "utf-8", "utf8": "utf-8", "65001": "utf-8", "932": "cp932", "1252": "cp1252",
            "936": "gbk", "949": "cp949", "950": "cp950", "eucjp": "euc_jp", "sjis": "cp932", "shift_jis": "cp932"}
# Codecs whose second bytes can be ``\\`` or ``"``: the text must be decoded before it is parsed.
MULTIBYTE = frozenset(("cp932", "gbk", "cp949", "cp950", "euc_jp"))


def unescape(text: str) -> str:
    """MEL string escapes (``\\"``, ``\\\\``, ``\\n``, ``\\t``) to their characters."""
    if "\\" not in text:
        return text
    return _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), text)


def strings(text: str) -> List[str]:
    """Every string literal in ``text``, unescaped, in order."""
    return [unescape(s) for s in _STRING_RE.findall(text)]


def codeset(head: bytes) -> Optional[str]:
    """The Python codec named by a ``//Codeset:`` header line, if any."""
    m = _CODESET_RE.search(head)
    if not m:
        return None
    return codec(m.group(1).decode("ascii", "replace"))


def codec(name: str) -> Optional[str]:
    """Maya's codeset name (``932``, ``UTF-8``, ``1252``) as a Python codec, ``None`` if empty."""
    name = name.strip().lower()
    if not name:
        return None
    if name in CODESETS:
        return CODESETS[name]
    return f"cp{name}" if name.isdigit() else name


def decode(raw: bytes, encoding: Optional[str]) -> str:
    """Bytes from the scene to text: the declared codeset, else UTF-8, else Windows-1252 (what
    an old scene without a header written on a western Windows machine holds)."""
    if encoding:
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def set_attr_value(text: str):
    """The value part of ``setAttr ".a" ...;``: a ``str`` for ``-type "string"``, a ``list`` for
    ``-type "stringArray"``, ``None`` for other typed data, else the bare word (``yes``, ``3``)."""
    m = _TYPE_RE.match(text)
    if not m:
        return text.strip()
    typ = m.group(1)
    rest = text[m.end():]
    if typ == "string":
        return "".join(strings(rest))
    if typ == "stringArray":
        return strings(rest)
    return None


def words(text: str) -> List[Tuple[bool, str]]:
    """Words of a statement: (is_string, value); strings unescaped."""
    out = []
    for m in _WORD_RE.finditer(text):
        if m.group(1) is not None:
            out.append((True, unescape(m.group(1))))
        else:
            out.append((False, m.group(2)))
    return out


def flags(text: str) -> Tuple[Dict[str, str], List[str]]:
    """``-flag value`` pairs (a flag followed by another flag has value ``""``) and the
    positional words, e.g. the path at the end of ``file -r ... "path";``."""
    opts: Dict[str, str] = {}
    positional: List[str] = []
    items = words(text)
    i = 0
    while i < len(items):
        is_str, word = items[i]
        if not is_str and word.startswith("-") and number(word) is None:
            nxt = items[i + 1] if i + 1 < len(items) else None
            if nxt is not None and (nxt[0] or not nxt[1].startswith("-") or number(nxt[1]) is not None):
                opts[word[1:]] = nxt[1]
                i += 2
                continue
            opts[word[1:]] = ""
        else:
            positional.append(word)
        i += 1
    return opts, positional
