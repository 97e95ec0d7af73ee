"""Reading the small text formats scenes point into (.vrscene, .xgen): one place that turns a
read failure into the one-line error naming the file, and decodes what a DCC wrote whatever its
code page (a stray byte must not stop the scan of the rest)."""
from __future__ import annotations

from ..errors import ScanError


def read_text(path: str, what: str) -> str:
    """The file's text, UTF-8 with undecodable bytes replaced; ``what`` names the format."""
    try:
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8", errors="replace")
    except OSError as exc:
        raise ScanError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
