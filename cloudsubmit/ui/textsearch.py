"""Finding the rows of a big file list that hold a word, for the filter box, in C-level calls only.

The panel filters on the UI thread (a worker's answer would come after a wait for the GIL), so a
keystroke must cost a few ms. One pass of ``str.__contains__`` over 100,000 rows costs 5-15 ms
here; a word that only some rows hold is found faster in one string of every row
(:class:`JoinedText`): ``str.split`` finds each occurrence, and each position is turned into its
row by bisection, all inside C calls. A word most rows hold falls back to the pass over the rows
(splitting would make a string per row)."""
from __future__ import annotations

import operator
from array import array
from bisect import bisect_right
from collections import deque
from itertools import accumulate, chain, repeat
from typing import Callable, List, Optional, Sequence, Union

SEPARATOR = "\n"  # never inside a filter word: the box splits its text on whitespace
RARE = 16  # a word found in fewer than 1 row in RARE is searched in the joined text


class JoinedText:
    """Every row's text in one string, ``SEPARATOR`` between rows, with where each row after the
    first starts (``next_starts[r]`` is where row ``r + 1`` begins)."""

    def __init__(self, texts: Sequence[str], step: int = 5000, pause: Callable[[], None] = lambda: None) -> None:
        parts: List[str] = []
        for start in range(0, len(texts), step):  # joined in slices: each C call holds the GIL
            parts.append(SEPARATOR.join(texts[start:start + step]))
            pause()
        self.text = SEPARATOR.join(parts)
        self.rows = len(texts)
        lengths = map(operator.add, map(len, texts), repeat(len(SEPARATOR)))
        self.next_starts = array("q", accumulate(lengths))[:-1] if texts else array("q")

    def rows_holding(self, word: str) -> Optional[bytearray]:
        """A byte per row, 1 where the row holds ``word``; None when many rows do (then one pass
        over the rows is cheaper than a string per occurrence)."""
        limit = self.rows // RARE + 1
        pieces = self.text.split(word, limit)
        if len(pieces) > limit:
            return None
        # where each occurrence starts: the text before it, and the words before it
        positions = accumulate(map(operator.add, map(len, pieces[:-1]), chain((0,), repeat(len(word)))))
        mask = bytearray(self.rows)
        deque(map(mask.__setitem__, map(bisect_right, repeat(self.next_starts), positions), repeat(1)), maxlen=0)
        return mask


def both(a: Union[bytes, bytearray], b: Union[bytes, bytearray]) -> bytes:
    """Two masks of 0/1 bytes ANDed, as two big integers (one C call, not one per row)."""
    if not a:
        return bytes(a)
    return (int.from_bytes(a, "little") & int.from_bytes(b, "little")).to_bytes(len(a), "little")
