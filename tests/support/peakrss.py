"""A command's own peak RSS, for the memory tests and the benches.

Why not the ``wait4`` (or ``RUSAGE_CHILDREN``) figure of the command itself: on Linux, exec keeps
the larger of the replaced memory's high-water mark and the new one's in ``ru_maxrss``, and a
child spawned by fork or vfork replaces its parent's memory. So that figure is max(the parent's
peak, the command's own): a command started from a bench or a pytest run that holds 100,000
paths and boto3 looks at least as big as its parent, and a memory test comparing two such
figures can pass without measuring anything.

So the command is started from this file run as a small launcher (``python -S -I``, importing
nothing beyond os, sys and time: about 9 MB), which forks, execs the command and reads its
``wait4``: max(the launcher's 9 MB, the command's own peak), which for any Python program is the
command's own peak. The caller's ``wait4`` of the launcher still sees the old, inherited
figure; :func:`run_measured` returns both, so a bench can print before and after in one run."""
from __future__ import annotations

import os
import sys
import time


def rusage_kb(maxrss: int) -> int:
    """``ru_maxrss`` in KiB (macOS reports bytes, Linux KiB)."""
    return maxrss // 1024 if sys.platform == "darwin" else maxrss


def own_hwm_kb() -> int:
    """This process's own high-water mark (``VmHWM``: the current memory only, not what an exec
    replaced); 0 where /proc does not say."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _launch(out: str, argv: list) -> int:
    """Run ``argv`` as this process's child; write ``code wall_s peak_kb launcher_kb`` to
    ``out``; return the command's exit status for this process to exit with."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        except OSError as exc:
            os.write(2, f"{argv[0]}: {exc.strerror or exc}\n".encode())
        os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    with open(out, "w") as f:
        f.write(f"{code} {wall!r} {rusage_kb(usage.ru_maxrss)} {own_hwm_kb()}\n")
    return code if 0 <= code < 256 else 1


class Measured:
    """One command's run: exit ``code``, ``wall_s`` (fork to exit, the launcher's start not
    counted), ``peak_mb`` (the command's own peak RSS, whole process), ``inherited_mb`` (what the
    command's own ``wait4`` would have said: at least the spawning process's peak) and
    ``floor_mb`` (the launcher's own: a ``peak_mb`` at this floor means "at most this")."""

    __slots__ = ("code", "wall_s", "peak_mb", "inherited_mb", "floor_mb")

    def __init__(self, code: int, wall_s: float, peak_mb: float, inherited_mb: float, floor_mb: float) -> None:
        self.code, self.wall_s, self.peak_mb = code, wall_s, peak_mb
        self.inherited_mb, self.floor_mb = inherited_mb, floor_mb


def run_measured(argv, env=None, cwd=None, stderr=None) -> Measured:
    """Run ``argv`` (stdout discarded, stderr to the ``stderr`` file object or discarded) from the
    launcher and measure it. Never raises for the command's exit status: look at ``code``."""
    import subprocess
    import tempfile

    fd, out = tempfile.mkstemp(prefix="cs-peakrss-", suffix=".txt")
    os.close(fd)
    try:
        proc = subprocess.Popen([sys.executable, "-S", "-I", os.path.abspath(__file__), out, *map(str, argv)],
                                env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                                stderr=stderr if stderr is not None else subprocess.DEVNULL)
        _, _status, usage = os.wait4(proc.pid, 0)
        with open(out) as f:
            text = f.read().split()
    finally:
        os.unlink(out)
    if len(text) != 4:
        raise RuntimeError(f"{argv[0]}: the launcher reported nothing (it could not start the command)")
    code, wall, peak, floor = int(text[0]), float(text[1]), int(text[2]), int(text[3])
    return Measured(code, wall, peak / 1024, max(rusage_kb(usage.ru_maxrss), peak) / 1024, floor / 1024)


if __name__ == "__main__":
    sys.exit(_launch(sys.argv[1], sys.argv[2:]))
