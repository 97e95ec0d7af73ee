"""S3 faults through a fault-injecting loopback proxy in front of the moto server: connections
reset mid-body, 5xx bursts and a server that accepts and never answers. Transfers and index reads
recover from what a retry can fix, and a dead endpoint fails in one line naming it, in bounded
time (the settings, not the test, bound it; the timeout marker only guards against a hang)."""
from __future__ import annotations

import os

import pytest

from cloudsubmit.errors import StoreError
from cloudsubmit.store import resolve, upload
from cloudsubmit.store.index import IndexEntry
from support.faultproxy import FaultProxy
from support.store_fixtures import make_files, open_as

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def proxy(s3_server):
    p = FaultProxy(s3_server.endpoint)
    yield p
    p.stop()


def _via(proxy, bucket, tmp_path, name, roots=None, **s3):
    settings = {"store.s3.endpoint_url": proxy.endpoint, "store.s3.max_attempts": 2, "store.s3.retry_mode": "standard"}
    settings.update({f"store.s3.{k}": v for k, v in s3.items()})
    return open_as(f"s3://{bucket}/team", tmp_path, name, roots, **settings)


def test_resets_mid_body_on_a_large_blob_are_retried(proxy, s3_bucket, tmp_path):
    paths = make_files(tmp_path / "gs", {"big.exr": 9 * 1024 * 1024 + 5})  # over 8 MiB: streamed by s3transfer
    roots = {"gs": str(tmp_path / "gs")}
    a = open_as(f"s3://{s3_bucket}/team", tmp_path, "a", roots)
    upload(resolve(paths, a, a.config), a)
    # more resets than s3transfer's own attempts: its RetriesExceededError must reach the runner
    rule = proxy.add("reset", r"^GET .*/cas/", times=3, after=1024 * 1024)
    b = _via(proxy, s3_bucket, tmp_path, "b", roots)
    rep = b.index.verify(deep=True)
    assert rep.ok and rep.blobs == 1 and rule.fired == 3


def test_a_shard_read_cut_mid_body_or_refused_by_a_5xx_burst_is_retried(proxy, s3_bucket, tmp_path):
    a = open_as(f"s3://{s3_bucket}/team", tmp_path, "a")
    entries = [IndexEntry(os.urandom(16).hex(), i, "gs", f"f/{i}.exr", i) for i in range(3000)]
    a.index.write_shard(entries)
    cut = proxy.add("reset", r"^GET .*/index/", times=1, after=40_000)  # well past the headers
    burst = proxy.add("status", r"^GET .*/index/", times=3, code=503)
    b = _via(proxy, s3_bucket, tmp_path, "b")
    assert len(b.index.refresh().entries()) == 3000
    assert cut.fired == 1 and burst.fired == 3 and not b.index.problems


def test_a_pack_refused_past_the_clients_own_attempts_is_copied_and_sent_again_whole(proxy, s3_bucket, tmp_path):
    """The transfer runner's retry of a pack runs its work again: every member is copied into a
    new spool (the upload holds a pack's members as a range it can walk again, not a list)."""
    from cloudsubmit.store.hashing import hash_bytes

    paths = make_files(tmp_path / "gs", {f"tex/t{i:02d}.tx": 3_000 + 10 * i for i in range(40)})
    settings = {"store.s3.endpoint_url": proxy.endpoint, "store.s3.max_attempts": 2, "store.s3.retry_mode": "standard",
                "store.packs.min_files": 8, "store.packs.pack_mb": 1}
    burst = proxy.add("status", r"^PUT .*/packs/", times=2, code=503)  # both of botocore's attempts
    a = open_as(f"s3://{s3_bucket}/team", tmp_path, "a", {"gs": str(tmp_path / "gs")}, **settings)
    rep = upload(resolve(paths, a, a.config), a)
    assert burst.fired == 2 and rep.packs == 1 and (rep.uploaded_files, rep.indexed_files) == (40, 40)
    fresh = open_as(f"s3://{s3_bucket}/team", tmp_path, "fresh")
    for p in paths:
        data = open(p, "rb").read()
        pack, offset = fresh.index.location(hash_bytes(data))
        assert fresh.backend.get_bytes(f"packs/{pack}.pack")[offset:offset + len(data)] == data


def test_max_attempts_counts_the_first_request_as_botocore_documents(proxy, s3_bucket, tmp_path):
    proxy.add("status", r"^HEAD ", times=100, code=503)
    b = _via(proxy, s3_bucket, tmp_path, "b", max_attempts=2)
    with pytest.raises(StoreError):
        b.backend.size("cas/" + "0" * 32)
    assert len([r for r in proxy.requests if r.startswith("HEAD ")]) == 2


def test_a_server_that_never_answers_fails_in_one_line_naming_the_endpoint(proxy, s3_bucket, tmp_path):
    paths = make_files(tmp_path / "gs", {"a.exr": 1000})
    proxy.add("stall", r".", times=10_000)
    b = _via(proxy, s3_bucket, tmp_path, "b", {"gs": str(tmp_path / "gs")},
             read_timeout_s=0.5, connect_timeout_s=0.5, retry_budget_s=1)
    with pytest.raises(StoreError) as err:
        upload(resolve(paths, b, b.config), b)
    message = err.value.message
    assert proxy.endpoint in message and "did not answer within 0.5 s" in message and "\n" not in message
    assert err.value.exit_code == 1


def test_the_cli_says_which_endpoint_stalled(cli, proxy, s3_server, s3_bucket, tmp_path):
    paths = make_files(tmp_path / "p", {"a.exr": 10})
    (tmp_path / "m.json").write_text('{"files": ["%s"]}' % paths[0])
    proxy.add("stall", r".", times=10_000)
    env = dict(s3_server.env, XDG_CACHE_HOME=str(tmp_path / "cache"), CLOUDSUBMIT_STORE=f"s3://{s3_bucket}/team")
    res = cli("--set", f"store.s3.endpoint_url={proxy.endpoint}", "--set", "store.s3.read_timeout_s=0.5",
              "--set", "store.s3.max_attempts=1", "--set", "store.s3.retry_budget_s=0",
              "upload", "--manifest", str(tmp_path / "m.json"), env=env)
    assert res.returncode == 1 and res.stderr.count("\n") == 1, res.stderr
    assert proxy.endpoint in res.stderr and "internal error" not in res.stderr
