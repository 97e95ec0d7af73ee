"""Maya 2023-2024 and Houdini 20-20.5 run the panel on PySide2 (Qt5, Python 3.9/3.10); the main
suite runs on PySide6. When this machine has a 3.9 or 3.10 interpreter, the panel, controller and
host tests run again under it with PySide2, in a venv built once under the git-ignored ``work/``
and reused while its requirements are unchanged. Skipped, with the reason, when no such
interpreter exists or PySide2 cannot be installed (no network, no wheel for the platform)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.oldpython import find_python

REPO = Path(__file__).resolve().parent.parent
# pytest-qt 4.5 dropped PySide2; 4.4 is the last release that drives it.
REQUIREMENTS = ["PySide2>=5.15,<5.16", "Qt.py", "pytest", "pytest-qt<4.5", "pyyaml", "fileseq", "xxhash"]
SUITE = ["tests/test_ui_controller.py", "tests/test_ui_panel.py", "tests/test_hosts.py",
         "tests/test_ui_pyside2.py::test_standalone_panel_scales_for_high_dpi_only_where_qt_does_not"]
INNER = "CLOUDSUBMIT_PYSIDE2_INNER"  # set in the PySide2 run so it does not recurse
# the only skips allowed in the PySide2 run: tests of defects PySide2 does not have
EXPECTED_SKIPS = ("this Qt binding keeps None's count right",)


def _install(python: str, venv: Path) -> str:
    """Build ``venv`` with the requirements; '' on success, else why not."""
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True)
    res = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                          *REQUIREMENTS], capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        lines = [ln for ln in res.stderr.splitlines() if ln.startswith("ERROR")] or res.stderr.splitlines() or ["?"]
        return lines[-1]
    probe = subprocess.run([str(venv / "bin" / "python"), "-c", "import PySide2.QtWidgets"],
                           capture_output=True, text=True)
    return "" if probe.returncode == 0 else (probe.stderr.strip().splitlines() or ["?"])[-1]


@pytest.fixture(scope="session")
def pyside2_python() -> str:
    """A Python 3.9/3.10 with PySide2 and the UI tests' dependencies (built on first use)."""
    if os.environ.get(INNER):
        pytest.skip("already the PySide2 run")
    python = find_python([(3, 9), (3, 10)])
    if python is None:
        pytest.skip("no Python 3.9 or 3.10 interpreter on this machine (PySide2 has no wheels for newer)")
    fcntl = pytest.importorskip("fcntl", reason="the cached venv is locked with fcntl (POSIX only)")
    tag = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    venv = REPO / "work" / "venvs" / ("pyside2-py" + tag)
    stamp = venv / "cloudsubmit-requirements.txt"
    wanted = "\n".join([python] + REQUIREMENTS)
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / (venv.name + ".lock"), "w") as lock:  # parallel sessions build it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp.is_file() and stamp.read_text() == wanted and (venv / "bin" / "python").exists()):
            why = _install(python, venv)
            if why:
                pytest.skip("PySide2 could not be installed for Python %s: %s" % (tag, why))
            stamp.write_text(wanted)  # written last: a half-built venv is rebuilt next time
    return str(venv / "bin" / "python")


def _pyside2_env() -> dict:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_PREFERRED_BINDING="PySide2",
                PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1", **{INNER: "1"})


def test_panel_controller_and_host_tests_pass_on_pyside2(pyside2_python):
    binding = subprocess.run([pyside2_python, "-c", "import Qt; print(Qt.__binding__, Qt.__qt_version__)"],
                             capture_output=True, text=True, env=_pyside2_env(), cwd=str(REPO))
    assert binding.stdout.split()[0] == "PySide2", binding.stdout + binding.stderr
    assert binding.stdout.split()[1].startswith("5.15.")
    res = subprocess.run([pyside2_python, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *SUITE],
                         capture_output=True, text=True, env=_pyside2_env(), cwd=str(REPO), timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    summary = out.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and not re.search(r"failed|error", summary), summary
    skips = [ln for ln in out.splitlines() if ln.startswith("SKIPPED")]
    assert all(any(reason in ln for reason in EXPECTED_SKIPS) for ln in skips), skips


def test_standalone_panel_scales_for_high_dpi_only_where_qt_does_not():
    """Runs under whichever binding this suite uses (PySide6 here, PySide2 in the run above)."""
    code = ("from Qt import QtCore\n"
            "from cloudsubmit.ui.qtcompat import standalone_application\n"
            "app = standalone_application(['t'])\n"
            "assert standalone_application([]) is app\n"
            "qt5 = QtCore.qVersion().startswith('5.')\n"
            "on = qt5 and app.testAttribute(QtCore.Qt.AA_EnableHighDpiScaling)\n"
            "print(QtCore.qVersion(), on)\n")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    # -W error: on Qt6 the helper must not touch the deprecated Qt5-only attributes at all
    res = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code],
                         capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    version, scaled = res.stdout.split()
    assert scaled == str(version.startswith("5."))
