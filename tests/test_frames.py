from __future__ import annotations

import pytest

from cloudsubmit.errors import FrameSpecError
from cloudsubmit.frames import chunk, compact, parse_frames, scout_frames


@pytest.mark.parametrize(
    "spec,expected",
    [("1-5", [1, 2, 3, 4, 5]), ("1-10x5", [1, 6]), ("1.0-3.0", [1, 2, 3]), ("1,5,10-12", [1, 5, 10, 11, 12]), ("3", [3]), ("-2-1", [-2, -1, 0, 1])],
)
def test_parse(spec, expected):
    assert parse_frames(spec) == expected


@pytest.mark.parametrize("spec", ["", "abc", "1-", "1-10x", "1.5", "1-2x0.5"])
def test_bad_specs_raise_with_the_spec(spec):
    with pytest.raises(FrameSpecError) as err:
        parse_frames(spec)
    assert err.value.exit_code == 2


def test_compact_round_trips_large_lists_fast():
    frames = list(range(1, 10001, 3))
    spec = compact(frames)
    assert parse_frames(spec) == frames
    assert len(spec) < 40


def test_chunks_and_scouts():
    frames = parse_frames("1-25")
    chunks = chunk(frames, 10)
    assert [c[0] for c in chunks] == [1, 11, 21] and chunks[-1] == [21, 22, 23, 24, 25]
    assert scout_frames(frames) == [1, 13, 25]
    with pytest.raises(FrameSpecError):
        chunk(frames, 0)
