"""Progress a person can read: speed and time left, the same words in the panel and the CLI, and
with --progress also in a log (not a terminal)."""
from __future__ import annotations

import json

from cloudsubmit.progress import ProgressMeter, ProgressReport, progress_text


class Clock:
    """Time as the test says it is: the meter is measured, not waited on."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_speed_and_time_left_come_from_the_last_seconds():
    clock = Clock()
    meter = ProgressMeter(clock, window=5.0)
    mb = 1024 * 1024
    meter.update(ProgressReport("upload", 0, 10, 0, 100 * mb))
    clock.now += 2
    rate = meter.update(ProgressReport("upload", 2, 10, 20 * mb, 100 * mb))
    assert rate.in_bytes and rate.per_second == 10 * mb and rate.seconds_left == 8
    text = progress_text(ProgressReport("upload", 2, 10, 20 * mb, 100 * mb), rate)
    assert text == "upload: 2/10, 20.0 MB of 100.0 MB, 10.0 MB/s, about 8 s left"
    for i in range(1, 11):  # nearly stalled: the fast seconds leave the window, the speed falls
        clock.now += 1
        rate = meter.update(ProgressReport("upload", 2, 10, 20 * mb + 1024 * i, 100 * mb))
    assert rate.per_second == 1024 and rate.seconds_left > 3600
    assert "h " in progress_text(ProgressReport("upload", 2, 10, 20 * mb, 100 * mb), rate)


def test_counts_without_bytes_and_a_restarted_stage():
    clock = Clock()
    meter = ProgressMeter(clock)
    meter.update(ProgressReport("render", 0, 4))
    clock.now += 30
    rate = meter.update(ProgressReport("render", 1, 4))
    assert not rate.in_bytes and rate.seconds_left == 90
    assert progress_text(ProgressReport("render", 1, 4), rate) == "render: 1/4, 0.0/s, about 1 min 30 s left"
    assert meter.update(ProgressReport("render", 0, 4)).per_second == 0  # started again: no bogus speed
    assert progress_text(ProgressReport("scan", 12, message="/show/a.ma")) == "scan: 12  /show/a.ma"


def test_progress_flag_writes_lines_into_a_log(cli, tmp_path):
    files = []
    for i in range(30):
        f = tmp_path / "tex" / f"t{i}.exr"
        f.parent.mkdir(exist_ok=True)
        f.write_bytes(bytes([i]) * (1000 + i))
        files.append(str(f))
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"files": files}), encoding="utf-8")
    store = tmp_path / "store"
    store.mkdir()
    url = "file://" + store.as_posix()
    quiet = cli("upload", "--manifest", str(manifest), "--store", url, "--json")
    assert quiet.returncode == 0 and quiet.stderr == ""  # a pipe without --progress stays clean
    other = tmp_path / "store2"
    other.mkdir()
    res = cli("upload", "--manifest", str(manifest), "--store", "file://" + other.as_posix(), "--json", "--progress")
    assert res.returncode == 0, res.stderr
    lines = res.stderr.splitlines()
    uploads = [line for line in lines if line.startswith("upload: ")]
    assert uploads and uploads[-1].startswith("upload: 30/30, ") and " of " in uploads[-1]
    assert len(uploads) <= 101 and all("\r" not in line for line in lines)
    assert json.loads(res.stdout)["uploaded_files"] == 30  # stdout is still one document
