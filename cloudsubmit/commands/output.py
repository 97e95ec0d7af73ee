"""What every command prints, written once: text that survives a console unable to encode a
Japanese path, JSON for scripts, sizes for people, and a progress line on stderr that appears only
when a person is watching a terminal (never in pipes, logs, tests or under ``--json``)."""
from __future__ import annotations

import json
import sys
from typing import Any, Callable, Optional

from ..progress import ProgressCallback, ProgressReport
from ..units import human_size  # noqa: F401  (re-exported for the commands)


def write(text: str) -> None:
    """Print ``text`` and a newline, escaping what stdout cannot encode (an old Windows console)
    instead of dying on a path half-way through a listing."""
    try:
        sys.stdout.write(text + "\n")
    except UnicodeEncodeError:
        enc = sys.stdout.encoding or "ascii"
        sys.stdout.write(text.encode(enc, "backslashreplace").decode(enc) + "\n")


def write_json(obj: Any, **dump_options: Any) -> None:
    """One JSON document on stdout, paths kept readable (not ``\\u`` escaped)."""
    write(json.dumps(obj, ensure_ascii=False, **dump_options))


def emit(as_json: bool, obj: Any, text: str, **dump_options: Any) -> None:
    """A command's result: ``obj`` as one JSON document under ``--json``, else ``text``."""
    if as_json:
        write_json(obj, **dump_options)
    else:
        write(text)


def watching(enabled: bool = True) -> bool:
    """Whether a person sees stderr: progress lines are for them only."""
    return enabled and sys.stderr.isatty()


def progress_line(describe: Callable[[ProgressReport], str], enabled: bool = True) -> Optional[ProgressCallback]:
    """A progress callback redrawing one stderr line with ``describe(report)``, or ``None`` when
    nobody watches; a control character in a path is escaped so it cannot break the line."""
    if not watching(enabled):
        return None

    def show(rep: ProgressReport) -> None:
        text = describe(rep)
        if not text.isprintable():
            text = text.encode("unicode_escape").decode("ascii")
        sys.stderr.write("\r" + text[:120].ljust(80))
        sys.stderr.flush()

    return show


def end_progress_line(enabled: bool = True) -> None:
    """Move past the progress line before the result is printed."""
    if watching(enabled):
        sys.stderr.write("\n")
        sys.stderr.flush()
