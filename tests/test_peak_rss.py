"""The memory tests and the benches read a command's peak RSS through support/peakrss.py: it must
be the command's own, not the peak of the process that started it (which a child's own ``wait4``
figure includes on Linux), and it must still see what the command itself allocates."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

# A parent holding 160 MB of touched pages starts a command that allocates nothing and one that
# touches 80 MB, and prints what each measure says.
_PARENT = """
import sys
sys.path.insert(0, {tests!r})
from support.peakrss import run_measured

held = bytearray(160 << 20)
for i in range(0, len(held), 4096):
    held[i] = 1
small = run_measured([sys.executable, "-c", "pass"])
big = run_measured([sys.executable, "-c", "b = bytearray(80 << 20)\\nfor i in range(0, len(b), 4096): b[i] = 1"])
failed = run_measured([sys.executable, "-c", "raise SystemExit(3)"])
print(small.peak_mb, small.inherited_mb, small.floor_mb, big.peak_mb, big.inherited_mb, failed.code)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the inherited figure is Linux's exec rule")
def test_a_command_is_measured_without_the_pages_of_the_process_that_started_it():
    out = subprocess.run([sys.executable, "-c", _PARENT.format(tests=str(TESTS))], capture_output=True,
                         text=True, check=True).stdout.split()
    small, small_inherited, floor, big, big_inherited, code = map(float, out)
    assert small_inherited >= 160, "the old figure (the command's own wait4) should have counted the parent"
    assert small < 60, f"an empty Python program measured {small:.0f} MB: the parent's pages leaked in"
    assert small >= floor > 0
    assert 80 <= big < 160, f"a program touching 80 MB measured {big:.0f} MB"
    assert big_inherited >= 160
    assert code == 3
