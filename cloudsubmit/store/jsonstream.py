"""Read a gzip-compressed JSON object whose one array member is big, in pieces: the text is
decompressed and decoded a block at a time, and the array's elements come out in batches, so
a 200,000-entry index snapshot costs a block of text and one batch of decoded elements, never
the whole text or a dict per element of the whole array (json.loads of such a snapshot holds
~250 MB).

Only the top-level object and the big array are walked here; every element and every other
member is decoded by the json module's C decoder, a batch of elements with one ``json.loads``
where a cut between two elements can be found, so the result is what ``json.loads`` of the
whole text would give. Damage raises what reading the whole would: ``zlib.error``/``EOFError``
(not gzip, cut short), ``UnicodeDecodeError``, ``ValueError`` (not JSON, extra data, a repeated
member), :class:`NotAnObject` (valid JSON, but no object at the top)."""
from __future__ import annotations

import codecs
import json
import re
import zlib
from typing import Any, Iterator, List, Optional, Tuple

_BLOCK = 1 << 20  # decompressed bytes decoded at a time
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
#: where one element of an array of objects ends and the next begins, as a writer without
#: spaces puts them; a cut found this way is tried with json.loads, and if that text is not
#: valid JSON (the "},{" was inside a string) the elements are decoded one at a time instead
_BETWEEN = "},{"


class NotAnObject(ValueError):
    """The text is JSON but its top level is not an object."""


class _Text:
    """The decompressed, decoded text, a block at a time: ``s[p:]`` is what is not read yet."""

    def __init__(self, data: bytes) -> None:
        self._rest = data
        self._z = zlib.decompressobj(wbits=31)  # gzip: its header and CRC trailer are checked
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self.s, self.p, self.eof = "", 0, False

    def more(self) -> bool:
        """Append the next block to the unread text; False at the end of the data."""
        if self.eof:
            return False
        chunk = b""
        while not chunk:
            if self._z.eof:
                if not self._z.unused_data:
                    break
                self._rest, self._z = self._z.unused_data, zlib.decompressobj(wbits=31)  # a next gzip member
                continue
            feed, self._rest = self._z.unconsumed_tail or self._rest, b""
            chunk = self._z.decompress(feed, _BLOCK)
            if not chunk and not feed and not self._z.eof:
                raise EOFError("compressed data ends early")
        text = self._utf8.decode(chunk, final=not chunk)
        if not chunk:
            self.eof = True
        self.s, self.p = self.s[self.p:] + text, 0
        return True

    def skip_ws(self) -> str:
        """The next character that is not whitespace ("" at the end of the text)."""
        while True:
            self.p = _WS.match(self.s, self.p).end()  # type: ignore[union-attr]
            if self.p < len(self.s):
                return self.s[self.p]
            if not self.more():
                return ""

    def expect(self, char: str) -> None:
        if self.skip_ws() != char:
            raise ValueError(f"expected {char!r} at character {self.p}")
        self.p += 1

    def value(self) -> Any:
        """One JSON value from here; a value that reaches the end of the text read so far is
        read again with more text (a number cut at a block's end would otherwise come out short)."""
        self.skip_ws()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.s, self.p)
            except ValueError:
                if self.more():
                    continue
                raise
            if end == len(self.s) and self.more():
                continue
            self.p = end
            return value


def stream_object(data: bytes, big: str, batch: int = 2000) -> Iterator[Tuple[str, Any]]:
    """``(name, value)`` of each member of the top-level object of gzip ``data``, in order; the
    member ``big``, when it is an array, comes as ``(big, [elements...])`` batches of about
    ``batch`` (at least one, for an empty array: ``(big, [])``)."""
    text = _Text(data)
    if text.skip_ws() != "{":
        if text.skip_ws() == "":
            raise ValueError("no JSON text")
        text.value()  # valid JSON of another kind, or the decoder's own error
        raise NotAnObject("the top level is not an object")
    text.p += 1
    seen: set = set()
    first = True
    while True:
        char = text.skip_ws()
        if char == "}" and first:
            text.p += 1
            break
        name = text.value()
        if not isinstance(name, str):
            raise ValueError(f"member name expected at character {text.p}")
        if name in seen:
            raise ValueError(f"member {name[:40]!r} appears twice")
        seen.add(name)
        text.expect(":")
        if name == big and text.skip_ws() == "[":
            text.p += 1
            yield from ((big, items) for items in _elements(text, batch))
        else:
            yield name, text.value()
        first = False
        char = text.skip_ws()
        text.p += 1
        if char == "}":
            break
        if char != ",":
            raise ValueError(f"expected ',' or '}}' at character {text.p - 1}")
    if text.skip_ws() != "":
        raise ValueError(f"extra data at character {text.p}")


def _elements(text: _Text, batch: int) -> Iterator[List[Any]]:
    """The array's elements from just after its ``[`` to just after its ``]``, in batches."""
    out: List[Any] = []
    if text.skip_ws() == "]":
        text.p += 1
        yield out
        return
    while True:
        while len(text.s) - text.p < _BLOCK // 2 and text.more():
            pass
        got = _run(text, batch - len(out))
        if got is not None:
            out += got
        else:
            out.append(text.value())
            char = text.skip_ws()
            text.p += 1
            if char == "]":
                yield out
                return
            if char != ",":
                raise ValueError(f"expected ',' or ']' at character {text.p - 1}")
        if len(out) >= batch:
            yield out
            out = []


def _run(text: _Text, want: int) -> Optional[List[Any]]:
    """Up to about ``want`` whole elements from here, decoded with one json.loads, when a cut
    between two of them is found in the text read so far; None when none is (then the caller
    decodes one element). Leaves ``p`` at the first element not decoded."""
    s, p = text.s, text.p
    end = min(len(s), p + max(want, 1) * 256)
    cut = s.rfind(_BETWEEN, p, end)
    if cut < 0 and end < len(s):
        cut = s.find(_BETWEEN, end)
    if cut < 0:
        return None
    try:
        items = json.loads("[" + s[p:cut + 1] + "]")
    except (ValueError, RecursionError):
        return None  # the "},{" was inside a string: one element at a time
    text.p = cut + 2
    return items
