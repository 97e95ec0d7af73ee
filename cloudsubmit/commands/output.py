"""What every command prints, written once: text that survives a console unable to encode a
Japanese path, JSON for scripts, sizes for people, and progress on stderr: a redrawn line when a person is
watching a terminal, and with ``--progress`` one line per step in a pipe or a log."""
from __future__ import annotations

import json
import sys
from typing import Any, Dict, Iterable, List, Optional

from ..progress import ProgressCallback, ProgressMeter, ProgressReport, progress_text
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


def write_json_texts(obj: Dict[str, Any], key: str, batches: Iterable[List[str]]) -> None:
    """``obj`` with ``key`` holding every item of ``batches`` (each item one JSON text, in
    ``json.dumps``'s spacing), as one JSON document on stdout, written a batch at a time (one item
    a line) so a 100k-file listing is never held whole as text. The items come encoded: a caller
    that encodes a batch in C-level passes (``Resolution.entry_texts``) makes no dict per item."""
    head = json.dumps(obj, ensure_ascii=False, indent=2)
    write((head[:-2] + ",\n" if obj else "{\n") + f"  {json.dumps(key)}: [")  # head ends "\n}"
    pending: Optional[str] = None
    for texts in batches:
        if texts:
            if pending is not None:
                write(pending + ",")
            pending = "    " + ",\n    ".join(texts)
    write("\n".join(([] if pending is None else [pending]) + ["  ]", "}"]))


def emit(as_json: bool, obj: Any, text: str, **dump_options: Any) -> None:
    """A command's result: ``obj`` as one JSON document under ``--json``, else ``text``."""
    if as_json:
        write_json(obj, **dump_options)
    else:
        write(text)


def watching(enabled: bool = True) -> bool:
    """Whether a person sees stderr: the redrawn progress line is for them only."""
    return enabled and sys.stderr.isatty()


def add_progress_flag(parser: Any) -> None:
    """``--progress``: progress on stderr even when it is not a terminal (a TD's log, a wrapper)."""
    parser.add_argument("--progress", action="store_true",
                        help="print progress (with speed and time left) on stderr even when it is not a terminal")


def progress_printer(args: Any) -> Optional[ProgressCallback]:
    """The progress display a command's ``args`` ask for: a redrawn line at a terminal (not under
    ``--json``), and with ``--progress`` also one line per step anywhere else."""
    always = bool(getattr(args, "progress", False))
    return progress_line(always or not getattr(args, "json", False), always)


def end_progress(args: Any) -> None:
    """Move past the redrawn line, if one was drawn, before the result is printed."""
    end_progress_line(bool(getattr(args, "progress", False)) or not getattr(args, "json", False))


def progress_line(enabled: bool = True, always: bool = False,
                  meter: Optional[ProgressMeter] = None) -> Optional[ProgressCallback]:
    """A progress callback showing :func:`progress_text` with speed and time left: a redrawn
    stderr line when a person watches a terminal; with ``always`` and no terminal, a new line
    whenever the stage or the whole percentage changes (a log gets ~100 lines per stage, not one
    per block). ``None`` when neither applies. A control character in a path is escaped so it
    cannot break the line."""
    redraw = watching(enabled)
    if not redraw and not (enabled and always):
        return None
    meter = meter or ProgressMeter()
    last: Dict[str, Any] = {"key": None}

    def show(rep: ProgressReport) -> None:
        text = progress_text(rep, meter.update(rep))
        if not text.isprintable():
            text = text.encode("unicode_escape").decode("ascii")
        if redraw:
            sys.stderr.write("\r" + text[:120].ljust(80))
        else:
            finished = bool(rep.total) and rep.done >= rep.total  # the last file after its bytes
            key = (rep.stage, int(rep.fraction * 100) if (rep.total or rep.bytes_total) else rep.done // 100, finished)
            if key == last["key"]:
                return
            last["key"] = key
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    return show


def end_progress_line(enabled: bool = True) -> None:
    """Move past the progress line before the result is printed."""
    if watching(enabled):
        sys.stderr.write("\n")
        sys.stderr.flush()
