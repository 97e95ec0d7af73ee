"""Find an older CPython (the one a DCC ships) on this machine, for tests that run code under it.

The ``python3.9`` pyenv shim can exist yet fail (no local version selected), so every candidate is
run once to prove it is the version it claims and has ``venv``."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator, Optional, Sequence, Tuple


def _candidates(minor: Tuple[int, int]) -> Iterator[str]:
    name = "python%d.%d" % minor
    found = shutil.which(name)
    if found:
        yield found
    root = Path(os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv")))
    yield from (str(p) for p in sorted(root.glob("versions/%d.%d*/bin/%s" % (minor + (name,)))))


def find_python(versions: Sequence[Tuple[int, int]]) -> Optional[str]:
    """The first working interpreter among ``versions`` (in that order of preference), or None."""
    for minor in versions:
        for exe in _candidates(minor):
            probe = subprocess.run([exe, "-c", "import sys, venv; print(sys.version_info[:2] == %r)" % (minor,)],
                                   capture_output=True, text=True)
            if probe.returncode == 0 and probe.stdout.strip() == "True":
                return exe
    return None
