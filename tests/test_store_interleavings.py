"""Property: whatever the interleaving of uploads (some killed part way), compactions, conflicting
and forged claims, damaged shard writes, lost blobs and blobs (or mirror keys) overwritten with
other bytes, a job either fails or materialises exactly the bytes its files held when it was
resolved; never other bytes. In both layouts: ``cas`` (blobs, downloaded into a session) and
``mirror`` (path keys a node reads through its mount, checked by hash).

A seeded random loop with a bounded step count (reproducible: the seed and step are in the
assertion message). Every job's manifest must name only the files' true hashes, so a forged claim
the trust rule let through (docs/store.md, "Which claims are trusted") fails the property."""
from __future__ import annotations

import gzip
import json
import os
import random
from pathlib import Path

import pytest

from cloudsubmit.errors import Cancelled, StoreError
from cloudsubmit.store.claims import probe_file
from cloudsubmit.store.hashing import hash_bytes
from cloudsubmit.store.index import FORMAT, new_shard_key
from cloudsubmit.store.layouts import materialise_job, resolve_inputs, send_inputs
from cloudsubmit.store.manifest import inputs_manifest, write_inputs
from cloudsubmit.store.mirror import MirrorLayout
from support.store_fixtures import open_as, store_url  # noqa: F401

NAMES = [f"tex/t{i}.exr" for i in range(5)]
SIZE = 16384  # one size for all: every wrong blob is a same-size wrong blob (and more than 3 probe windows)


def _content(rng: random.Random) -> bytes:
    return bytes([rng.randrange(4)]) * 16 + os.urandom(SIZE - 16)


class World:
    def __init__(self, url: str, tmp: Path, rng: random.Random, layout: str = "cas") -> None:
        self.url, self.tmp, self.rng, self.layout = url, tmp, rng, layout
        self.gs = tmp / "gs"
        self.roots = {"gs": str(self.gs)}
        self.mount = url[len("file://"):] if url.startswith("file://") else ""  # a dir store is the nodes' mount
        self.cfg = {"store.layout": layout, "store.mirror.mount": self.mount or str(tmp / "no-mount"),
                    "store.mirror.prefixes": {"gs": ""}, "store.transfer.node_cache": str(tmp / "node-cache")}
        self.machines = [self.machine(name) for name in ("a", "b")]
        self.attacker = open_as(url, tmp, "x", **self.cfg)
        self.jobs = self.failed_jobs = self.steps = 0
        for name in NAMES:
            self.edit(name)

    def machine(self, name: str):
        return open_as(self.url, self.tmp, name, self.roots, **self.cfg)

    def paths(self):
        return [str(self.gs / n) for n in NAMES]

    def edit(self, name: str = "") -> str:
        name = name or self.rng.choice(NAMES)
        p = self.gs / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(_content(self.rng))
        return name

    def upload(self, m=None) -> None:
        """One machine's upload, killed part way unless it is the last one (``m`` given)."""
        whole = m is not None
        m = m or self.rng.choice(self.machines)
        m._index = None  # a new run on that machine
        res = resolve_inputs(self.paths(), m, m.config)
        stop_after = None if whole else self.rng.choice([None, 0, 1, 2])
        calls = [0]

        def progress(_rep) -> bool:
            calls[0] += 1
            return stop_after is None or calls[0] <= stop_after  # False: killed part way

        try:
            send_inputs(res, m, progress=progress)
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
        self._claim(dict(victim._asdict(), hash=other.hash))

    def edit_and_forge(self) -> None:
        """A new version nobody has hashed yet, and at once a forged claim for it: the race an
        adversary (or a teammate's buggy tool) wins against every machine's hash cache."""
        self.forged_sole_claim(self.edit())

    def forged_sole_claim(self, name: str = "") -> None:
        """The only claim for a file's current version (maybe never uploaded), naming another
        indexed blob of the same size, with no probe, that blob's probe, or the file's own."""
        self.attacker._index = None
        entries = self.attacker.index.entries()
        if not entries:
            return
        path = self.gs / (name or self.rng.choice(NAMES))
        st, other = path.stat(), self.rng.choice(entries)
        lie = dict(hash=other.hash, size=st.st_size, root="gs", path=path.relative_to(self.gs).as_posix(),
                   mtime_ns=st.st_mtime_ns, user="x", time=0.0)
        probe = self.rng.choice(["", self.attacker.index.probe(other.hash) or "", probe_file(str(path), st.st_size)])
        self._claim(dict(lie, probe=probe) if probe else lie)

    def _claim(self, entry: dict) -> None:
        data = gzip.compress(json.dumps({"format": FORMAT, "entries": [entry]}).encode())
        self.attacker.backend.put_bytes(new_shard_key(), data, if_absent=True)

    def damaged_shard(self) -> None:
        self.attacker.backend.put_bytes(new_shard_key(), gzip.compress(b'{"format": "x"}')[:-3], if_absent=True)

    def blob_damage(self) -> None:
        """Lose or overwrite (same size, other bytes) what a job reads: a blob, or a mirror key."""
        prefix = "cas/" if self.layout == "cas" else "tex/"
        keys = [k for k, _ in self.attacker.backend.list(prefix)]
        if not keys:
            return
        key = self.rng.choice(keys)
        if self.rng.random() < 0.5:
            self.attacker.backend.delete(key)
        else:
            self.attacker.backend.put_bytes(key, os.urandom(SIZE))  # same size, other bytes

    def job(self) -> None:
        """A job: its upload stage (resolve, sometimes send, the manifest), then a render node."""
        m = self.rng.choice(self.machines)
        m._index = None
        truth = {p: Path(p).read_bytes() for p in self.paths()}
        res = resolve_inputs(self.paths(), m, m.config)
        for f in res.files:
            assert f.hash == hash_bytes(truth[f.path]), f"manifest would name {f.hash} for {f.path} (via {f.via})"
        if self.rng.random() < 0.5:
            try:
                send_inputs(res, m)
            except StoreError:
                pass  # e.g. an attacker's shard written meanwhile; the node still checks
        self.jobs += 1
        job_id = f"j{self.jobs}"
        manifest = inputs_manifest(job_id, res.files)
        write_inputs(m.backend, manifest)
        node = open_as(self.url, self.tmp, "node", **self.cfg)
        session = self.tmp / "node" / job_id
        try:
            rep = materialise_job(node.backend, job_id, str(session), node.config)
        except StoreError:
            self.failed_jobs += 1  # a lost or wrong blob or key: the job fails, which is allowed
            return
        for e in manifest.files:
            got = self._node_bytes(rep.session, e)
            assert hash_bytes(got) == e.hash and got == truth[str(self.gs / e.path)], f"{e.path} on the node"

    def _node_bytes(self, session: str, e) -> bytes:
        """What the renderer reads: the session file (cas), the mount (mirror), else the key."""
        if self.layout == "cas":
            return (Path(session) / e.root / e.path).read_bytes()
        layout = MirrorLayout.from_config(self.machines[0].config)
        if self.mount:
            return (Path(layout.node_root(e.root)) / e.path).read_bytes()
        return self.attacker.backend.get_bytes(layout.key(e.root, e.path))


OPS = ["edit", "upload", "upload", "compact", "conflicting_claims", "forged_sole_claim", "edit_and_forge",
       "damaged_shard", "blob_damage", "job", "job"]


def _run(url: str, tmp: Path, seed: int, steps: int, layout: str = "cas") -> World:
    rng = random.Random(seed)
    world = World(url, tmp, rng, layout)
    for step in range(steps):
        op = rng.choice(OPS)
        try:
            getattr(world, op)()
        except AssertionError as exc:
            raise AssertionError(f"{layout}, seed {seed}, step {step} ({op}): {exc}") from None
        world.steps += 1
    world.upload(world.machines[0])  # a last whole upload, then a last job
    world.job()
    return world


def test_the_last_job_after_a_whole_upload_gets_its_files(tmp_path):
    """The property is not vacuous: with no damage after a whole upload, jobs succeed."""
    for layout in ("cas", "mirror"):
        store = tmp_path / layout / "store"
        store.mkdir(parents=True)
        world = World(store.as_uri(), tmp_path / layout, random.Random(5), layout)
        world.upload(world.machines[0])
        world.job()
        world.job()
        assert (world.jobs, world.failed_jobs) == (2, 0), layout


@pytest.mark.parametrize("layout", ["cas", "mirror"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_interleavings_on_a_directory_store(tmp_path, seed, layout):
    store = tmp_path / "store"
    store.mkdir()
    world = _run(store.as_uri(), tmp_path, seed, steps=30, layout=layout)
    assert world.jobs >= 1


@pytest.mark.parametrize("layout", ["cas", "mirror"])
def test_random_interleavings_on_s3(s3_bucket, tmp_path, layout):
    world = _run(f"s3://{s3_bucket}/team", tmp_path, seed=7, steps=14, layout=layout)
    assert world.jobs >= 1
