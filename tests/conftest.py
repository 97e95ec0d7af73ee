"""Shared fixtures. Everything runs on real files in tmp_path; servers bind loopback only."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _find_real_scenes() -> Path:
    """``shared/real-scenes`` beside the checkout (CI), or beside any parent folder (worktrees);
    ``CLOUDSUBMIT_REAL_SCENES`` wins when set."""
    if os.environ.get("CLOUDSUBMIT_REAL_SCENES"):
        return Path(os.environ["CLOUDSUBMIT_REAL_SCENES"])
    for parent in REPO.parents:
        candidate = parent / "shared" / "real-scenes"
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "real-scenes"


REAL_SCENES = _find_real_scenes()


def run_cli(*args: str, env: dict = None, cwd: str = None, input: str = None) -> subprocess.CompletedProcess:
    """Run ``python -m cloudsubmit`` in a subprocess, the way mayapy/hython would."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.setdefault("CLOUDSUBMIT_USER_CONFIG", os.devnull)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "cloudsubmit", *args],
        capture_output=True, text=True, env=full_env, cwd=cwd, input=input, timeout=300,
    )


def _outside_tmp_root() -> Path:
    """A folder DAGMan accepts (not under /tmp) wherever the checkout lives: the repo's ignored
    work/ folder, else the user's cache folder (a clone under /tmp), else /dev/shm."""
    from cloudsubmit.errors import SubmitError
    from cloudsubmit.jobs.submit import check_pool_dir

    home = Path(os.path.expanduser("~"))
    for root in (REPO / "work", home / ".cache" / "cloudsubmit-tests", Path("/dev/shm") / "cloudsubmit-tests"):
        try:
            check_pool_dir(root)
            root.mkdir(parents=True, exist_ok=True)
        except (SubmitError, OSError):
            continue
        return root
    pytest.skip("no writable folder outside /tmp for a pool bundle")


@pytest.fixture
def outside_tmp():
    """A fresh folder outside /tmp (DAGMan refuses node logs there and pytest's tmp_path lives
    there), removed afterwards."""
    path = _outside_tmp_root() / f"test-{uuid.uuid4().hex[:10]}"
    path.mkdir()
    yield path
    shutil.rmtree(str(path), ignore_errors=True)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def real_scenes() -> Path:
    if not REAL_SCENES.is_dir():
        pytest.skip("../shared/real-scenes not present")
    return REAL_SCENES


@pytest.fixture(autouse=True)
def _isolated_user_config(monkeypatch, tmp_path_factory):
    """No test reads the developer's own ~/.config/cloudsubmit."""
    monkeypatch.setenv("CLOUDSUBMIT_USER_CONFIG", str(tmp_path_factory.mktemp("usercfg") / "config.yaml"))
    monkeypatch.delenv("CLOUDSUBMIT_CONFIG", raising=False)


from support.s3server import s3_bucket, s3_server  # noqa: E402,F401  (fixtures shared by store tests)


@pytest.fixture
def usd_core():
    """usd-core (the ``cloudsubmit[usd]`` extra, which ``make test`` installs): tests that read USD
    layers skip, saying why, where it is absent."""
    return pytest.importorskip("pxr", reason="usd-core (the cloudsubmit[usd] extra) is not installed")
