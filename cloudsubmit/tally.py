"""One shape for everything that counts: the store's reports, a job's stage counts, the
transfer runner's meter.

As deadline-cloud's job attachments do with ``SummaryStatistics``: a plain dataclass of named
counters that can be added together and written as JSON by field name, so no report spells its
own sum or its own dict. A field whose annotation is ``int`` or ``float`` is a counter; every
other field (a job id, a list of lines) is carried along. A field named with a leading ``_`` (a
lock) is never written."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Dict, Iterable, Type, TypeVar, Union

T = TypeVar("T", bound="Tally")
Number = Union[int, float]
_NUMBER_TYPES = ("int", "float", int, float)


@dataclass
class Tally:
    """Base of every counting report: subclasses only declare their fields."""

    def counters(self) -> Dict[str, Number]:
        """Every counter by name, in declaration order."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.type in _NUMBER_TYPES}

    def add(self: T, other: T) -> T:
        """Add ``other``'s counters (same type) into this one; the other fields stay this one's."""
        if type(other) is not type(self):
            raise TypeError(f"cannot add a {type(other).__name__} to a {type(self).__name__}")
        for name, value in other.counters().items():
            setattr(self, name, getattr(self, name) + value)
        return self

    @classmethod
    def combined(cls: Type[T], tallies: Iterable[T]) -> T:
        """A new tally holding the sum of ``tallies`` (for types whose fields all have defaults)."""
        out = cls()
        for t in tallies:
            out.add(t)
        return out

    def to_json(self) -> Dict[str, Any]:
        """Every public field by name, in declaration order, as JSON types (tuples become lists),
        which is what a command's ``--json`` prints."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self) if not f.name.startswith("_")}


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
