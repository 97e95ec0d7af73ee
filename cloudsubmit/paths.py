"""Path helpers shared by the readers, the store and the jobs: normalisation and environment
variables written the way artists write them (``$VAR``, ``${VAR}``, ``%VAR%``)."""
from __future__ import annotations

import os
import posixpath
import re
from typing import Mapping, Optional

_ENV_RE = re.compile(r"\$\{(\w+)\}|\$(\w+)|%(\w+)%")
_DRIVE_RE = re.compile(r"^[A-Za-z]:/")


def to_posix(path: str) -> str:
    """Backslashes to forward slashes; a studio's Windows paths come out comparable."""
    return path.replace("\\", "/")


def is_absolute(path: str) -> bool:
    """Absolute on any platform: ``/gs/x``, ``Z:/x``, ``//server/share/x``."""
    p = to_posix(path)
    return p.startswith("/") or bool(_DRIVE_RE.match(p))


def normpath(path: str, base: Optional[str] = None) -> str:
    """Absolute, normalised, forward slashes. Relative paths are taken against ``base`` (or the
    current directory). Windows drive paths stay drive paths; UNC ``//server`` stays UNC."""
    p = to_posix(path)
    if not is_absolute(p):
        p = posixpath.join(to_posix(base or os.getcwd()), p)
    unc = p.startswith("//") and not p.startswith("///")
    drive = ""
    if _DRIVE_RE.match(p):
        drive, p = p[:2], p[2:]
    p = posixpath.normpath(p)
    if unc and not p.startswith("//"):
        p = "/" + p
    return drive + p


def expand_vars(value: str, env: Optional[Mapping[str, str]] = None, keep_unknown: bool = True) -> str:
    """Expand ``$VAR``, ``${VAR}`` and ``%VAR%``. Unknown variables stay as written (so the
    caller can report the path as missing with its variable visible) unless ``keep_unknown`` is
    false, in which case they become empty strings."""
    env = os.environ if env is None else env

    def sub(m: "re.Match[str]") -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        if name in env:
            return env[name]
        return m.group(0) if keep_unknown else ""

    return _ENV_RE.sub(sub, value)


def scene_extension(path: str) -> str:
    """The extension that names a file's format, which the readers' and the renderers' tables key
    on: in lower case, with the one before a ``.gz`` kept (``shot.ass.gz`` -> ``.ass.gz``),
    because compressed scenes are named that way."""
    name = posixpath.basename(path.replace("\\", "/")).lower()
    ext = posixpath.splitext(name)[1]
    if ext == ".gz":
        inner = posixpath.splitext(name[: -len(ext)])[1]
        return inner + ext if inner else ext
    return ext
