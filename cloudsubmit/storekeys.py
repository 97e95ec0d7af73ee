"""The team store's key layout, spelled in this one module.

::

    cas/<hash>                       a blob (the ``cas`` layout's content, outputs of both layouts)
    packs/<hash>.pack                small files' contents end to end, named by the hash of all its bytes
    index/<time>-<random>.json.gz    one team-index shard
    quarantine/index/...             a damaged shard ``index repair`` moved aside
    jobs/<job id>/inputs.json        a job's input manifest (written once by the upload stage)
    jobs/<job id>/outputs/<node>.json  one render node's output manifest

It lives beside ``paths.py`` rather than in ``store/`` because a job bundle records where its
input manifest will be (``job.json``) and ``jobs/`` never imports ``store/``."""
from __future__ import annotations

import os
import re
import time

from .errors import StoreError

BLOB_PREFIX = "cas/"
SHARD_PREFIX = "index/"
SHARD_SUFFIX = ".json.gz"
QUARANTINE_PREFIX = "quarantine/"  # damaged shards are moved here by `index repair`: kept, never read
JOBS_PREFIX = "jobs/"
PACK_PREFIX = "packs/"  # the ``cas`` layout's packs of small files (see store/packs.py)
PACK_SUFFIX = ".pack"
RESERVED = ("cas", "index", "jobs", "packs", "quarantine")  # the store's own top-level folders (a mirror key must avoid them)

_HEX_RE = re.compile(r"[0-9a-f]{32}")  # XXH3-128 hex: what blobs and packs are named
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")  # "_posix", "_drive_z": automatic roots


def check_name(name: str, what: str) -> str:
    """A job id, node or root name: one safe path component (it becomes a key and a folder)."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or name in (".", ".."):
        raise StoreError(f"invalid {what} {name!r}: use letters, digits, '.', '_' or '-'", exit_code=2)
    return name


def blob_key(digest: str) -> str:
    """Where a blob lives: the one place that spells it, so the uploader, the index, a node's
    download and the output manifests can never disagree."""
    return BLOB_PREFIX + digest


def pack_key(pack_id: str) -> str:
    """Where a pack lives; the pack id is the XXH3-128 of every byte of it."""
    return PACK_PREFIX + pack_id + PACK_SUFFIX


def pack_of_key(key: str) -> str:
    """The pack id of a key under ``packs/``, or "" for any other key (a temp file, a stranger)."""
    if key.startswith(PACK_PREFIX) and key.endswith(PACK_SUFFIX):
        name = key[len(PACK_PREFIX):-len(PACK_SUFFIX)]
        return name if _HEX_RE.fullmatch(name) else ""
    return ""


def new_shard_key() -> str:
    """Time-ordered (hex nanoseconds) plus random bits: sortable and unique across machines."""
    return f"{SHARD_PREFIX}{time.time_ns():016x}-{os.urandom(6).hex()}{SHARD_SUFFIX}"


def inputs_key(job_id: str) -> str:
    return f"{JOBS_PREFIX}{check_name(job_id, 'job id')}/inputs.json"


def outputs_prefix(job_id: str) -> str:
    return f"{JOBS_PREFIX}{check_name(job_id, 'job id')}/outputs/"


def outputs_key(job_id: str, node: str) -> str:
    return outputs_prefix(job_id) + check_name(node, "node name") + ".json"


def outputs_label(job_id: str, node: str) -> str:
    """An output manifest's key for an error line, unchecked (the node may be unknown: ``?``)."""
    return f"{JOBS_PREFIX}{job_id}/outputs/{node or '?'}.json"
