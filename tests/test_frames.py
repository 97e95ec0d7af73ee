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


def test_frame_spec_from_host_ranges():
    from cloudsubmit.frames import range_spec

    assert range_spec(1001.0, 1096.0, 1.0) == "1001-1096"
    assert range_spec(1, 100, 5) == "1-100x5"
    assert range_spec(17, 17, 1) == "17"


def test_one_rule_for_a_scenes_fractional_range():
    """The scanner, the submit call and the panel's first guess used to truncate, floor and
    round a fractional range three ways; one rule now (floor, as Maya's whole frames at or
    below), so the panel shows the frames that will render."""
    from cloudsubmit.api import _frames
    from cloudsubmit.frames import range_frames, range_spec, whole_range
    from cloudsubmit.scan.model import DependencySet, SceneInfo
    from cloudsubmit.scan.scanner import scene_frames

    assert whole_range(1001.5, 1003.7, 1) == (1001, 1003, 1)
    assert whole_range(-1.5, 1, 0.5) == (-2, 1, 1)
    assert range_frames(1, 10, 3) == [1, 4, 7, 10] and range_frames(5, 2) == [5]
    info = SceneInfo(frame_start=1.6, frame_end=4.2, frame_step=1)
    deps = DependencySet("/s.ma", "", [], info=info)
    assert scene_frames(info) == _frames(None, deps) == [1, 2, 3, 4]
    assert range_spec(1.6, 4.2, 1) == "1-4"

