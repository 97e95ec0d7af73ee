"""Reading a shard in pieces gives what reading it whole gives: the same entries from every
way a writer may have spelled the JSON (older versions, other tools), with blocks cut anywhere,
and the same "cannot read it" for every damaged shard."""
from __future__ import annotations

import gzip
import json
import random

import pytest

from cloudsubmit.store import jsonstream
from cloudsubmit.store.index import FORMAT, BadShard, decode_shard, encode_shard, IndexEntry
from support.store_damage import UNREADABLE


def _streamed(data: bytes, batch: int = 7) -> dict:
    doc: dict = {}
    for name, value in jsonstream.stream_object(data, "entries", batch):
        if name == "entries" and isinstance(value, list):
            doc.setdefault("entries", []).extend(value)
        else:
            doc[name] = value
    return doc


def _entries(rng: random.Random, n: int) -> list:
    tricky = ["a},{b", 'q"},{"x', "é/ü/日本", "tab\there", "back\\slash", "x" * 3000, "\U0001f600"]
    return [{"hash": f"{rng.getrandbits(128):032x}", "size": rng.randint(0, 10 ** 12), "root": "gs",
             "path": f"{rng.choice(tricky)}/f{i}.exr", "mtime_ns": rng.randint(-10, 10 ** 19), "user": rng.choice(tricky),
             "time": rng.random() * 1e9, **({"pack": f"{i:032x}", "offset": i} if i % 3 == 0 else {})}
            for i in range(n)]


@pytest.mark.parametrize("spelling", ["compact", "spaced", "indented", "entries first", "ascii escapes", "two members"])
@pytest.mark.parametrize("block", [5, 300, 65536])
def test_streamed_reads_what_json_loads_reads(monkeypatch, spelling, block):
    monkeypatch.setattr(jsonstream, "_BLOCK", block)
    rng = random.Random(block)
    doc = {"format": FORMAT, "entries": _entries(rng, 120), "extra": {"nested": [1, 2.5, None, True]}}
    if spelling == "entries first":
        doc = {"entries": doc["entries"], "format": FORMAT, "extra": doc["extra"]}
    text = {"compact": lambda d: json.dumps(d, separators=(",", ":"), ensure_ascii=False),
            "spaced": lambda d: json.dumps(d, ensure_ascii=False),
            "indented": lambda d: json.dumps(d, indent=3),
            "entries first": lambda d: json.dumps(d, separators=(",", ":")),
            "ascii escapes": lambda d: json.dumps(d),
            "two members": lambda d: json.dumps(d, separators=(",", ":"))}[spelling](doc).encode("utf-8")
    data = gzip.compress(text[:len(text) // 2]) + gzip.compress(text[len(text) // 2:]) if spelling == "two members" \
        else gzip.compress(text)
    assert _streamed(data) == json.loads(gzip.decompress(data)) == doc


def test_an_old_compact_snapshot_decodes_to_the_same_entries(monkeypatch):
    """A snapshot as the in-memory fold wrote it (one gzip of the whole text) and as the
    streaming encoder writes it: the same bytes, the same entries."""
    monkeypatch.setattr(jsonstream, "_BLOCK", 1000)
    rng = random.Random(2)
    entries = [IndexEntry(f"{rng.getrandbits(128):032x}", i, "gs", f"s/{i % 9}/f{i}.exr", i, "u", 1.5,
                          f"{i:032x}" if i % 2 else "", i if i % 2 else 0, f"{i + 1:032x}" if i % 5 == 0 else "")
               for i in range(5000)]
    docs = [{k: v for k, v in e._asdict().items() if (k not in ("pack", "offset") or e.pack) and (k != "probe" or v)}
            for e in entries]
    old = gzip.compress(json.dumps({"format": "cloudsubmit-index/2", "entries": docs}, separators=(",", ":")).encode(),
                        compresslevel=6, mtime=0)
    assert gzip.decompress(encode_shard(entries)) == gzip.decompress(old)
    assert decode_shard(old, "index/old.json.gz").entries == entries


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_every_unreadable_shard_is_still_unreadable(monkeypatch, name):
    monkeypatch.setattr(jsonstream, "_BLOCK", 64)
    data = UNREADABLE[name](encode_shard([IndexEntry("0" * 32, 1, "gs", "a/b.exr", 1)] * 50))
    with pytest.raises(BadShard) as err:
        decode_shard(data, "index/x.json.gz")
    assert "index/x.json.gz" in err.value.message and "\n" not in err.value.message


@pytest.mark.parametrize("text", ['{"format":"x","entries":[1,2],}', '{"entries":[1,2]}{}', '{"entries":[1,,2]}',
                                  '{"entries":[1 2]}', '{"a":1,"a":2}', '{"entries":[{"a":1},{"b":2}', '', '  ',
                                  '{"entries":[1]', '{"x":1 "y":2}'])
def test_text_that_is_not_one_json_object_raises_as_a_whole_read_would(text):
    data = gzip.compress(text.encode())
    with pytest.raises((ValueError, EOFError)):
        _streamed(data)
