"""A real HTCondor pool for the integration tests: ``shared/htcondor/start-pool`` (beside the checkout
or any parent folder, as ``conftest._find_real_scenes`` finds real-scenes; ``CLOUDSUBMIT_HTCONDOR``
wins when set), run as an ordinary user, because HTCondor does not run root's jobs.

As root (CI) the pool runs as ``csuser`` (start-pool creates it) and every command of a test runs as
that user through ``runuser``; everything that user needs lives in its home, never under /tmp
(DAGMan refuses node logs there) nor /root (unreadable for it): a work folder per session, and a
venv from Debian's ``/usr/bin/python3`` with cloudsubmit installed from this checkout, cached by a
hash of setup.py and the package files, so only the first session after a change pays for pip."""
from __future__ import annotations

import hashlib
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
POOL_USER = "csuser"
SYSTEM_PYTHON = "/usr/bin/python3"


class PoolUnavailable(Exception):
    """Why the real pool cannot run here (the tests skip with this text)."""


def find_htcondor() -> Optional[Path]:
    if os.environ.get("CLOUDSUBMIT_HTCONDOR"):
        return Path(os.environ["CLOUDSUBMIT_HTCONDOR"])
    for parent in REPO.parents:
        candidate = parent / "shared" / "htcondor"
        if (candidate / "start-pool").is_file():
            return candidate
    return None


def source_hash() -> str:
    """What the installed cloudsubmit is made of: setup.py, README (setup.py reads it) and every
    package file, so an edited module means a fresh venv and an unchanged tree reuses the cache."""
    h = hashlib.sha256()
    files = [REPO / "setup.py", REPO / "README.md"] + sorted(
        p for p in (REPO / "cloudsubmit").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for p in files:
        h.update(p.relative_to(REPO).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


class Pool:
    """A started pool plus the user, work folder and venv its jobs run with."""

    def __init__(self, htcondor: Path) -> None:
        self.htcondor = htcondor
        self.as_root = os.geteuid() == 0
        self.user = POOL_USER if self.as_root else pwd.getpwuid(os.geteuid()).pw_name
        self.work: Path = Path()
        self.home: Path = Path()
        self.python = ""
        self.env: Dict[str, str] = {}
        self.started = False

    # --- running things as the pool user ------------------------------------------------------
    def run(self, argv: Sequence[str], cwd: Optional[str] = None, timeout: int = 600,
            env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
        full = dict(self.env, **(env or {}))
        cmd = ["env", "-i"] + [f"{k}={v}" for k, v in sorted(full.items())] + list(argv)
        if self.as_root:
            cmd = ["runuser", "-u", self.user, "--"] + cmd
        return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd or str(self.work), timeout=timeout)

    def cli(self, *args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
        return self.run([self.python, "-m", "cloudsubmit", *args], env=env)

    def condor(self, tool: str, *args: str) -> List[str]:
        proc = self.run([str(self.htcondor / "bin" / tool), *args], timeout=120)
        if proc.returncode != 0:
            raise AssertionError(f"{tool} {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout.splitlines()

    def chown(self, path: Path) -> None:
        if self.as_root:
            subprocess.run(["chown", "-R", self.user, str(path)], check=True)

    # --- setup and teardown --------------------------------------------------------------------
    def setup(self) -> None:
        if sys.platform != "linux":
            raise PoolUnavailable("the shared HTCondor build is for Linux")
        if self.as_root and not shutil.which("runuser"):
            raise PoolUnavailable("running as root without runuser: cannot submit as the pool user")
        env_lines = self._start()
        self.env = {"HOME": str(self.home), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                    "PATH": f"{self.htcondor / 'bin'}:{self.htcondor / 'sbin'}:/usr/local/bin:/usr/bin:/bin",
                    "CONDOR_CONFIG": env_lines["CONDOR_CONFIG"], "CLOUDSUBMIT_USER_CONFIG": os.devnull}
        self.python = self._venv()

    def _start(self) -> Dict[str, str]:
        start = self.htcondor / "start-pool"
        if self.as_root:
            proc = subprocess.run(["id", self.user], capture_output=True)
            if proc.returncode != 0:
                subprocess.run(["useradd", "-m", "-s", "/bin/bash", self.user], check=True)
        self.home = Path(pwd.getpwnam(self.user).pw_dir)
        if str(self.home).startswith(("/tmp", "/root")) or not self.home.is_dir():
            raise PoolUnavailable(f"the pool user's home {self.home} is missing or under /tmp or /root")
        self.work = self.home / f"cloudsubmit-test-{os.geteuid()}-{secrets.token_hex(4)}"
        self.work.mkdir(mode=0o755)
        self.chown(self.work)
        args = [str(start), "--dir", str(self.work / "pool")] + (["--user", self.user] if self.as_root else [])
        proc = subprocess.run(args, capture_output=True, text=True, timeout=180)
        if proc.returncode != 0:
            raise PoolUnavailable(f"start-pool failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
        self.started = True
        found = {}
        for part in proc.stdout.replace("\n", ";").split(";"):
            key, sep, value = part.strip().removeprefix("export ").partition("=")
            if sep:
                found[key] = value
        if "CONDOR_CONFIG" not in found:
            raise PoolUnavailable(f"start-pool printed no CONDOR_CONFIG: {proc.stdout.strip()[-200:]}")
        return found

    def _venv(self) -> str:
        """``<home>/.cache/cloudsubmit-test/venv-<hash>/bin/python``, built once per source tree:
        in a temporary folder first and renamed into place, so two sessions never share half a venv
        (the venv is only ever run as ``python -m``, which does not mind the rename)."""
        if not os.access(SYSTEM_PYTHON, os.X_OK):
            raise PoolUnavailable(f"{SYSTEM_PYTHON} is missing: the pool user needs a Python it can read")
        cache = self.home / ".cache" / "cloudsubmit-test"
        final = cache / f"venv-{source_hash()}"
        python = final / "bin" / "python"
        if python.is_file():
            os.utime(final)  # in use: other trees' venvs are pruned after six idle hours
            return str(python)
        probe = subprocess.run([SYSTEM_PYTHON, "-c", "import ensurepip, venv"], capture_output=True)
        if probe.returncode != 0:
            raise PoolUnavailable("python3-venv is not installed (apt-get install -y python3-venv)")
        cache.mkdir(parents=True, exist_ok=True)
        self.chown(self.home / ".cache")
        building = cache / f"building-{secrets.token_hex(4)}"
        src = self.work / "src"
        src.mkdir()
        for name in ("setup.py", "README.md"):
            shutil.copy2(REPO / name, src / name)
        shutil.copytree(REPO / "cloudsubmit", src / "cloudsubmit", ignore=shutil.ignore_patterns("__pycache__"))
        self.chown(src)
        for argv in ([SYSTEM_PYTHON, "-m", "venv", str(building)],
                     [str(building / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(src)]):
            proc = self.run(argv, timeout=900)
            if proc.returncode != 0:
                shutil.rmtree(building, ignore_errors=True)
                raise PoolUnavailable(f"cannot build the pool user's venv: {proc.stderr.strip()[-300:]}")
        for old in [*cache.glob("venv-*"), *cache.glob("building-*")]:  # unused for six hours (or interrupted)
            if time.time() - old.stat().st_mtime > 6 * 3600:
                shutil.rmtree(old, ignore_errors=True)
        try:
            building.rename(final)
        except OSError:  # another session finished the same venv first
            shutil.rmtree(building, ignore_errors=True)
        return str(python)

    def stop(self) -> None:
        if self.started:
            subprocess.run([str(self.htcondor / "stop-pool"), str(self.work / "pool")], capture_output=True, timeout=120)
            self.started = False
        if self.work != Path() and self.work.is_dir():
            shutil.rmtree(self.work, ignore_errors=True)
