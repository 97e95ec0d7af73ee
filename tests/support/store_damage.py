"""Damaged store states, built the way other hands would leave them: a teammate's machine with a
bug, anyone holding the bucket's credentials, a disk that filled mid-write. Each builder writes
raw objects through the backend (no cloudsubmit writer would produce them) and returns the key
it damaged, so a test can check that the key is named in what the user sees."""
from __future__ import annotations

import gzip
import json
from typing import Callable, Dict, List

from cloudsubmit.store.index import FORMAT, encode_shard
from cloudsubmit.storekeys import new_shard_key

GOOD = {"hash": "0" * 31 + "1", "size": 3, "root": "gs", "path": "a/b.exr", "mtime_ns": 1, "user": "u", "time": 1.0}


def _shard(entries: List[dict]) -> bytes:
    return gzip.compress(json.dumps({"format": FORMAT, "entries": entries}).encode(), mtime=0)


def _with(**change) -> dict:
    return dict(GOOD, **change)


def _truncated(fraction: float) -> Callable[[bytes], bytes]:
    return lambda data: data[:max(5, int(len(data) * fraction))]


#: whole shards nobody can read: name -> bytes to store under a fresh shard key
UNREADABLE: Dict[str, Callable[[bytes], bytes]] = {
    "gzip cut to 5 bytes": lambda data: data[:5],
    "gzip cut in half": _truncated(0.5),
    "gzip one byte short": lambda data: data[:-1],
    "not gzip": lambda data: b"this is not a shard",
    "gzip of non-JSON": lambda data: gzip.compress(b"{not json"),
    "another format": lambda data: gzip.compress(json.dumps({"format": "other/9", "entries": []}).encode()),
    "entries not a list": lambda data: gzip.compress(json.dumps({"format": FORMAT, "entries": {"a": 1}}).encode()),
    "JSON nested too deep": lambda data: gzip.compress(b"[" * 100000 + b"]" * 100000),
}

#: shards whose entries are wrongly typed or shaped: name -> the one bad entry
BAD_ENTRIES: Dict[str, dict] = {
    "hash a list": _with(hash=["a"]),
    "hash with ../": _with(hash="../../etc/passwd"),
    "hash uppercase": _with(hash="A" * 32),
    "null fields": {k: None for k in GOOD},
    "size a string": _with(size="3"),
    "size negative": _with(size=-1),
    "size a bool": _with(size=True),
    "path with ..": _with(path="a/../../x"),
    "path absolute": _with(path="/etc/passwd"),
    "path with a NUL": _with(path="a\x00b"),
    "root with a slash": _with(root="g/s"),
    "mtime a float": _with(mtime_ns=1.5),
    "entry a string": "hello",
    "pack not a pack id": _with(pack="../../etc", offset=0),
    "pack offset negative": _with(pack="b" * 32, offset=-1),
    "pack offset without a pack": _with(pack=7, offset=3),
}


def put_unreadable(backend, name: str) -> str:
    key = new_shard_key()
    backend.put_bytes(key, UNREADABLE[name](encode_shard([])), if_absent=True)
    return key


def put_bad_entry(backend, name: str, good: List[dict] = ()) -> str:
    key = new_shard_key()
    backend.put_bytes(key, _shard(list(good) + [BAD_ENTRIES[name]]), if_absent=True)
    return key
