"""hash_file reads into one reused buffer per thread: the digest must still be the digest of
the whole file at every size around the block boundary, and threads must never share a buffer."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from cloudsubmit.store.hashing import _CHUNK, hash_bytes, hash_file


@pytest.mark.parametrize("size", [0, 1, _CHUNK - 1, _CHUNK, _CHUNK + 1, 2 * _CHUNK + 17])
def test_digest_and_byte_count_at_block_boundaries(tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    counted = []
    assert hash_file(str(path), counted.append) == hash_bytes(data)
    assert sum(counted) == size
    assert all(0 < n <= _CHUNK for n in counted)


def test_threads_hashing_different_files_at_once_get_their_own_digests(tmp_path):
    blobs = [os.urandom(_CHUNK + 1000 * i) for i in range(8)]
    paths = []
    for i, data in enumerate(blobs):
        p = tmp_path / f"f{i}.bin"
        p.write_bytes(data)
        paths.append(str(p))
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(hash_file, paths * 3))
    assert got == [hash_bytes(b) for b in blobs] * 3
