"""Helpers for the store tests: a "machine" is its own config (hash cache, index shard cache,
where the studio root is mounted); a store is a directory or a bucket on the moto server."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List

import pytest

from cloudsubmit.config import load_config
from cloudsubmit.store import open_store


def machine_config(tmp: Path, name: str, roots: Dict[str, str] = None, **extra):
    overrides = {"store.hash_cache": str(tmp / f"machine-{name}" / "hashes.sqlite")}
    if roots:
        overrides["paths.roots"] = roots
    overrides.update(extra)
    return load_config(overrides=overrides)


@pytest.fixture(params=["dir", "s3"])
def store_url(request, tmp_path) -> str:
    """Each test using this runs against a directory store and against S3 (moto)."""
    if request.param == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        return f"s3://{bucket}/team"
    path = tmp_path / "store"
    path.mkdir()
    return path.as_uri()


def open_as(url: str, tmp: Path, name: str, roots: Dict[str, str] = None, **extra):
    return open_store(url, machine_config(tmp, name, roots, **extra))


def make_files(folder: Path, spec: Dict[str, int], seed: str = "") -> List[str]:
    """Write files named in ``spec`` with that many bytes of content unique to name+seed."""
    out = []
    for name, size in spec.items():
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        block = (seed + name).encode() * (size // max(1, len(seed + name)) + 1)
        p.write_bytes(block[:size])
        out.append(str(p))
    return out


def blob_keys(store) -> List[str]:
    return [k for k, _ in store.backend.list("cas/")]


def cli_env(url: str, tmp: Path, name: str, extra: Dict[str, str] = None) -> Dict[str, str]:
    env = {"CLOUDSUBMIT_STORE": url, "XDG_CACHE_HOME": str(tmp / f"machine-{name}")}
    env.update(extra or {})
    return env


def all_files(root: Path) -> List[str]:
    return sorted(str(p) for p in root.rglob("*") if p.is_file())


__all__ = ["machine_config", "store_url", "open_as", "make_files", "blob_keys", "cli_env", "all_files", "os"]
