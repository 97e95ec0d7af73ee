"""Maya 2023 ships Python 3.9. Parsing with feature_version=(3, 9) catches syntax; this runs the
core for real under a 3.9 interpreter when the machine has one (skipped otherwise), so a 3.10+
library call (zip(strict=...), dataclass(slots=...), ...) cannot slip into what a DCC loads."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.oldpython import find_python

REPO = Path(__file__).resolve().parent.parent
CORE_DEPS = ["pyyaml", "fileseq", "xxhash"]


def _python39():
    return find_python([(3, 9)])


@pytest.fixture(scope="module")
def py39(tmp_path_factory):
    exe = _python39()
    if exe is None:
        pytest.skip("no python3.9 on this machine")
    venv = tmp_path_factory.mktemp("py39") / "venv"
    subprocess.run([exe, "-m", "venv", str(venv)], check=True, capture_output=True)
    py = venv / "bin" / "python"
    res = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", *CORE_DEPS],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip("could not install the core dependencies for python3.9: " + res.stderr.strip().splitlines()[-1])
    return str(py)


def _run(py, *args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(REPO), CLOUDSUBMIT_USER_CONFIG=os.devnull)
    return subprocess.run([py, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_every_core_module_imports_under_python39(py39):
    code = (
        "import importlib, pkgutil, cloudsubmit\n"
        "skip = ('cloudsubmit.ui', 'cloudsubmit.hosts')\n"
        "names = [m.name for m in pkgutil.walk_packages(cloudsubmit.__path__, 'cloudsubmit.') if not m.name.startswith(skip)]\n"
        "bad = []\n"
        "for n in names:\n"
        "    try: importlib.import_module(n)\n"
        "    except ImportError as e:\n"
        "        if getattr(e, 'name', '') in ('boto3', 'botocore', 'htcondor2', 'classad2', 'pxr', 's3transfer'): continue\n"
        "        bad.append(n + ': ' + repr(e))\n"
        "    except Exception as e: bad.append(n + ': ' + repr(e))\n"
        "print('\\n'.join(bad))\n"
    )
    res = _run(py39, "-c", code)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""


def test_scan_of_the_example_shot_under_python39_matches_this_python(py39, tmp_path, cli):
    scene = REPO / "cloudsubmit" / "examples" / "demo_shot" / "scenes" / "shot010_lighting.ma"
    old = _run(py39, "-m", "cloudsubmit", "scan", str(scene), "--json")
    new = cli("scan", str(scene), "--json")
    assert old.returncode == new.returncode == 0, old.stderr + new.stderr
    assert json.loads(old.stdout) == json.loads(new.stdout)
    assert len(json.loads(old.stdout)["dependencies"]) >= 5
