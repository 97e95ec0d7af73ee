"""Property: whatever the interleaving of uploads (some killed part way), compactions, conflicting
and damaged shard writes, lost blobs and blobs overwritten with other bytes, a job either fails
or materialises exactly the bytes its files held when it was resolved; never other bytes.

A seeded random loop with a bounded step count (reproducible: the seed and step are in the
assertion message). Honest limits, documented in docs/store.md: a claim that is the *only* one
for a path, size and mtime is trusted by the team fast path; `index verify --claims` finds those."""
from __future__ import annotations

import gzip
import json
import os
import random
from pathlib import Path

import pytest

from cloudsubmit.errors import Cancelled, StoreError
from cloudsubmit.store import resolve, upload
from cloudsubmit.store.hashing import hash_bytes, hash_file
from cloudsubmit.store.index import FORMAT, new_shard_key
from cloudsubmit.store.manifest import inputs_manifest
from cloudsubmit.store.materialise import materialise
from support.store_fixtures import open_as, store_url  # noqa: F401

NAMES = [f"tex/t{i}.exr" for i in range(5)]
SIZE = 4096  # one size for all: every wrong blob is a same-size wrong blob


def _content(rng: random.Random) -> bytes:
    return bytes([rng.randrange(4)]) * 16 + os.urandom(SIZE - 16)


class World:
    def __init__(self, url: str, tmp: Path, rng: random.Random) -> None:
        self.url, self.tmp, self.rng = url, tmp, rng
        self.gs = tmp / "gs"
        self.roots = {"gs": str(self.gs)}
        self.machines = [open_as(url, tmp, name, self.roots) for name in ("a", "b")]
        self.attacker = open_as(url, tmp, "x")
        self.jobs = self.failed_jobs = self.steps = 0
        for name in NAMES:
            self.edit(name)

    def paths(self):
        return [str(self.gs / n) for n in NAMES]

    def edit(self, name: str = "") -> None:
        p = self.gs / (name or self.rng.choice(NAMES))
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(_content(self.rng))

    def upload(self) -> None:
        m = self.rng.choice(self.machines)
        m._index = None  # a new run on that machine
        res = resolve(self.paths(), m, m.config)
        stop_after = self.rng.choice([None, 0, 1, 2])
        calls = [0]

        def progress(_rep) -> bool:
            calls[0] += 1
            return stop_after is None or calls[0] <= stop_after  # False: killed part way

        try:
            upload(res, m, progress=progress)
        except Cancelled:
            pass

    def compact(self) -> None:
        self.attacker._index = None
        self.attacker.index.compact()

    def conflicting_claims(self) -> None:
        """Claim an indexed (path, size, mtime) holds another indexed blob of the same size."""
        self.attacker._index = None
        entries = self.attacker.index.entries()
        if len(entries) < 2:
            return
        victim, other = self.rng.sample(entries, 2)
        lie = dict(victim._asdict(), hash=other.hash)
        data = gzip.compress(json.dumps({"format": FORMAT, "entries": [lie]}).encode())
        self.attacker.backend.put_bytes(new_shard_key(), data, if_absent=True)

    def damaged_shard(self) -> None:
        self.attacker.backend.put_bytes(new_shard_key(), gzip.compress(b'{"format": "x"}')[:-3], if_absent=True)

    def blob_damage(self) -> None:
        blobs = [k for k, _ in self.attacker.backend.list("cas/")]
        if not blobs:
            return
        key = self.rng.choice(blobs)
        if self.rng.random() < 0.5:
            self.attacker.backend.delete(key)
        else:
            self.attacker.backend.put_bytes(key, os.urandom(SIZE))  # same size, other bytes

    def job(self) -> None:
        m = self.rng.choice(self.machines)
        m._index = None
        truth = {p: Path(p).read_bytes() for p in self.paths()}
        res = resolve(self.paths(), m, m.config)
        for f in res.files:
            assert f.hash == hash_bytes(truth[f.path]), f"manifest would name {f.hash} for {f.path} (via {f.via})"
        self.jobs += 1
        job_id = f"j{self.jobs}"
        manifest = inputs_manifest(job_id, res.files)
        session = self.tmp / "node" / job_id
        try:
            materialise(m.backend, job_id, str(session), cache_dir=str(self.tmp / "node-cache"), manifest=manifest)
        except StoreError:
            self.failed_jobs += 1  # a lost or wrong blob: the job fails, which is allowed
            return
        for e in manifest.files:
            got = session / e.root / e.path
            assert hash_file(str(got)) == e.hash and got.read_bytes() == truth[str(self.gs / e.path)]


OPS = ["edit", "upload", "upload", "compact", "conflicting_claims", "damaged_shard", "blob_damage", "job", "job"]


def _run(url: str, tmp: Path, seed: int, steps: int) -> World:
    rng = random.Random(seed)
    world = World(url, tmp, rng)
    for step in range(steps):
        op = rng.choice(OPS)
        try:
            getattr(world, op)()
        except AssertionError as exc:
            raise AssertionError(f"seed {seed}, step {step} ({op}): {exc}") from None
        world.steps += 1
    world.job()
    return world


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_interleavings_on_a_directory_store(tmp_path, seed):
    store = tmp_path / "store"
    store.mkdir()
    world = _run(store.as_uri(), tmp_path, seed, steps=30)
    assert world.jobs >= 1


def test_random_interleavings_on_s3(s3_bucket, tmp_path):
    world = _run(f"s3://{s3_bucket}/team", tmp_path, seed=7, steps=14)
    assert world.jobs >= 1
